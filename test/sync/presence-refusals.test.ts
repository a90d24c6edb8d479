/**
 * Presence the server refuses is not refused in silence (docs/sync.md, "Refusals"): past a bound
 * (protocol/src/limits.ts) the client gets y-protocols' permission-denied message with the
 * reason. The stock y-websocket provider logs it and carries on (the document still syncs, the
 * connection stays); our SDK gives it to the app as the workspace's `refused` event. Both room
 * engines, the Redis one on a real redis-server started here.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { randomUUID } from 'node:crypto'
import * as decoding from 'lib0/decoding'
import type WebSocket from 'ws'
import { MAX_PRESENCE_CLIENTS_PER_CONNECTION, MAX_PRESENCE_ROOM_BYTES, MAX_PRESENCE_STATE_BYTES } from '@tabula/protocol'
import { createLogger } from '@tabula/server-kit'
import { connect } from '@tabula/client-sdk'
import { AUTH_PERMISSION_DENIED, MESSAGE_AUTH } from '../../sync-server/src/messages.js'
import { createRedisRooms } from '../../sync-server/src/redis/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { authedFetch, removeHome, startTabula } from '../helpers/tabula.js'
import { until } from '../helpers/wait.js'
import { WORKSPACE, connectProvider, rawClient, spam, startLocalSync, synced, type LocalSync } from './helpers.js'

let server: LocalSync | null = null
let redis: TestRedis | null = null
afterEach(async () => {
  vi.restoreAllMocks()
  await server?.stop()
  server = null
})
afterAll(async () => {
  await redis?.stop()
})

async function start(engine: 'in-process' | 'redis'): Promise<LocalSync> {
  if (engine === 'redis') redis ??= await startRedis()
  server = await startLocalSync(
    engine === 'redis' ? { rooms: await createRedisRooms(redis!.url, createLogger('sync-test', 'silent')) } : {},
  )
  return server
}

/** The reasons of the permission-denied messages a raw client receives. */
function denials(ws: WebSocket): string[] {
  const reasons: string[] = []
  ws.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(decoder) !== MESSAGE_AUTH || decoding.readVarUint(decoder) !== AUTH_PERMISSION_DENIED) return
    reasons.push(decoding.readVarString(decoder))
  })
  return reasons
}

for (const engine of ['in-process', 'redis'] as const) {
  describe(engine, () => {
    it('a state past the bound: the stock provider is told why and carries on; nobody else sees the state', async () => {
      const { url, token } = await start(engine)
      const workspace = engine === 'redis' ? randomUUID() : WORKSPACE
      const warned: string[] = []
      vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warned.push(args.map(String).join(' ')))
      const big = connectProvider(url, workspace, token)
      const other = connectProvider(url, workspace, token)
      const closes: number[] = []
      big.on('connection-close', (event: { code: number } | null) => event && closes.push(event.code))
      try {
        await Promise.all([synced(big), synced(other)])
        big.awareness.setLocalStateField('user', { name: 'x'.repeat(MAX_PRESENCE_STATE_BYTES) })
        await until('the stock provider to log the refusal', () =>
          warned.some((w) => /Permission denied/.test(w) && w.includes(`a state may be at most ${MAX_PRESENCE_STATE_BYTES} bytes`)),
        )
        // It carries on: the same connection still syncs the document both ways.
        big.doc.getMap('m').set('from', 'big')
        other.doc.getMap('m').set('from other', 'yes')
        await until('edits both ways', () => other.doc.getMap('m').get('from') === 'big' && big.doc.getMap('m').get('from other') === 'yes')
        expect(closes).toEqual([])
        expect(big.wsconnected).toBe(true)
        // The refused state was not shared.
        expect(other.awareness.getStates().has(big.awareness.clientID)).toBe(false)
      } finally {
        big.destroy()
        other.destroy()
      }
    })

    it('too many client ids on one connection, and a room full of presence: each sender is told which bound', async () => {
      const { url, token } = await start(engine)
      const workspace = engine === 'redis' ? randomUUID() : WORKSPACE
      const spammer = await rawClient(url, workspace, token)
      const told = denials(spammer.ws)
      spammer.ws.send(spam(1, MAX_PRESENCE_CLIENTS_PER_CONNECTION + 12, 100))
      await until('the spammer to be told', () => told.length > 0)
      expect(told).toEqual([
        `12 presence states were refused and not shared: a connection may speak for at most ${MAX_PRESENCE_CLIENTS_PER_CONNECTION} client ids`,
      ])

      // Connections within their own bound, together past the room's.
      const perConnection = MAX_PRESENCE_CLIENTS_PER_CONNECTION * 7000
      const crowd = await Promise.all(
        Array.from({ length: Math.ceil(MAX_PRESENCE_ROOM_BYTES / perConnection) + 2 }, () => rawClient(url, workspace, token)),
      )
      const crowdTold = crowd.map((c) => denials(c.ws))
      try {
        for (const [i, c] of crowd.entries()) {
          c.ws.send(spam(100_000 + i * 100, MAX_PRESENCE_CLIENTS_PER_CONNECTION, 7000))
          await until('sent', () => c.ws.bufferedAmount === 0)
        }
        await until('a member of the crowd to be told', () => crowdTold.some((t) => t.length > 0))
        const reasons = crowdTold.flat()
        expect(reasons.length).toBeGreaterThan(0)
        for (const reason of reasons)
          expect(reason).toMatch(
            new RegExp(`refused and not shared: the states of one workspace may take at most ${MAX_PRESENCE_ROOM_BYTES} bytes`),
          )
        // The first connections fit whole and were told nothing.
        expect(crowdTold[0]).toEqual([])
      } finally {
        for (const c of [spammer, ...crowd]) c.ws.close()
      }
    })
  })
}

it('the SDK gives a presence refusal to the app as the workspace `refused` event', async () => {
  const tabula = await startTabula(['up'])
  try {
    const res = await authedFetch(tabula.url, tabula.token)('/v1/workspaces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: tabula.home }),
    })
    expect(res.status, await res.clone().text()).toBeLessThan(300)
    const workspace = (await res.json()) as { id: string }
    // A viewer name too long for a presence state (the SDK publishes it as is).
    const client = await connect({
      url: tabula.url,
      token: tabula.token,
      viewer: { name: 'n'.repeat(MAX_PRESENCE_STATE_BYTES), kind: 'test' },
    })
    try {
      const view = client.workspace(workspace.id)
      const refused: string[] = []
      view.on('refused', (reason) => refused.push(reason))
      await view.ready
      await until('the refusal to reach the app', () => refused.length > 0)
      expect(refused[0]).toBe(`a presence state was refused and not shared: a state may be at most ${MAX_PRESENCE_STATE_BYTES} bytes`)
      expect(view.status.sync).toBe('online')
    } finally {
      await client.close()
    }
  } finally {
    await tabula.stop()
    removeHome(tabula.home)
  }
}, 30_000)
