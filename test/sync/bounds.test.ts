/**
 * Bounds on what sync clients control (protocol/src/limits.ts, docs/sync.md "Bounds"): presence
 * spam (fake client ids, big states, many connections) is not stored or relayed past the bounds,
 * a newcomer's greeting comes in bounded messages and the stock y-websocket client still syncs;
 * a layout document stops growing at its bound, the update that would pass it is refused whole
 * and the client is told why. Both room engines, with the same code for both: in-process, and on a
 * real redis-server started here (docs/sync.md, "Many instances on Redis").
 */
import { until } from '../helpers/wait.js'
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { createLogger } from '@tabula/server-kit'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import {
  MAX_LAYOUT_DOC_BYTES,
  MAX_PRESENCE_CLIENTS_PER_CONNECTION,
  MAX_PRESENCE_MESSAGE_BYTES,
  MAX_PRESENCE_ROOM_BYTES,
  MAX_PRESENCE_STATE_BYTES,
} from '@tabula/protocol'
import { MESSAGE_AWARENESS } from '../../sync-server/src/messages.js'
import { createRedisRooms } from '../../sync-server/src/redis/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { WORKSPACE, connectProvider, rawClient, spam, startLocalSync, synced, type LocalSync } from './helpers.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as encoding from 'lib0/encoding'
import { createLowdbStore, type DocStore } from '../../sync-server/src/store.js'

let server: LocalSync | null = null
afterEach(async () => {
  await server?.stop()
  server = null
})

let redis: TestRedis | null = null
afterAll(async () => {
  await redis?.stop()
  redis = null
})
let room = 0

/** A sync server on the given engine; on Redis each test gets a room of its own. */
async function start(engine: 'in-process' | 'redis'): Promise<{ url: string; token: string; workspace: string }> {
  if (engine === 'in-process') {
    server = await startLocalSync()
    return { url: server.url, token: server.token, workspace: WORKSPACE }
  }
  redis ??= await startRedis()
  server = await startLocalSync({ rooms: await createRedisRooms(redis.url, createLogger('sync-test', 'silent')) })
  return { url: server.url, token: server.token, workspace: `${WORKSPACE.slice(0, -4)}${String(++room).padStart(4, '0')}` }
}

/** Sizes of the awareness messages a raw client receives, and the client ids they name. */
function awarenessOf(ws: import('ws').WebSocket) {
  const seen = { sizes: [] as number[], ids: new Set<number>() }
  ws.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(decoder) !== MESSAGE_AWARENESS) return
    seen.sizes.push(data.length)
    const inner = decoding.createDecoder(decoding.readVarUint8Array(decoder))
    const count = decoding.readVarUint(inner)
    for (let i = 0; i < count; i++) {
      seen.ids.add(decoding.readVarUint(inner))
      decoding.readVarUint(inner)
      decoding.readVarString(inner)
    }
  })
  return seen
}

for (const engine of ['in-process', 'redis'] as const) {
  describe(engine, () => {
    it('presence spam: fake ids, big states and many connections stay within the bounds; a stock client still syncs', async () => {
      const { url, token, workspace: WORKSPACE } = await start(engine)
      // One connection announcing 1,000 fake ids with 5 KB states, 40 times over.
      const spammer = await rawClient(url, WORKSPACE, token)
      for (let round = 1; round <= 40; round++) spammer.ws.send(spam(1, 1000, 5000, round))
      // Oversized states from another connection.
      const big = await rawClient(url, WORKSPACE, token)
      big.ws.send(spam(10_000, 2, MAX_PRESENCE_STATE_BYTES + 100))
      // Many connections, each within its own bound, together over the room's.
      const crowd = await Promise.all(Array.from({ length: 40 }, () => rawClient(url, WORKSPACE, token)))
      for (const [i, c] of crowd.entries()) c.ws.send(spam(100_000 + i * 100, MAX_PRESENCE_CLIENTS_PER_CONNECTION, 7000))

      const newcomer = await rawClient(url, WORKSPACE, token)
      const greeting = awarenessOf(newcomer.ws)
      const provider = connectProvider(url, WORKSPACE, token)
      try {
        await synced(provider)
        await until('the provider to see the others', () => provider.awareness.getStates().size > 1)
        await until('the greeting', () => greeting.ids.size > 0)
        const fromSpammer = [...greeting.ids].filter((id) => id < 10_000)
        expect(fromSpammer.length).toBeLessThanOrEqual(MAX_PRESENCE_CLIENTS_PER_CONNECTION)
        expect([...greeting.ids].filter((id) => id >= 10_000 && id < 100_000)).toEqual([]) // oversized: never stored
        // The room holds at most MAX_PRESENCE_ROOM_BYTES of states: of 40 × 8 × 7 KB (2.2 MB), about half.
        const crowdIds = [...greeting.ids].filter((id) => id >= 100_000).length
        expect(crowdIds * 7000).toBeLessThanOrEqual(MAX_PRESENCE_ROOM_BYTES)
        expect(crowdIds).toBeGreaterThan(0)
        // Greeted in several bounded messages, not one with everything.
        expect(greeting.sizes.length).toBeGreaterThan(1)
        for (const size of greeting.sizes) expect(size).toBeLessThanOrEqual(MAX_PRESENCE_MESSAGE_BYTES + MAX_PRESENCE_STATE_BYTES * 3)
      } finally {
        provider.destroy()
        for (const c of [spammer, big, newcomer, ...crowd]) c.ws.close()
      }
    }, 60_000)

    it(`a layout document stops at ${MAX_LAYOUT_DOC_BYTES} bytes: the update past it is refused whole and the client told`, async () => {
      const { url, token, workspace: WORKSPACE } = await start(engine)
      const doc = new Y.Doc()
      const provider = connectProvider(url, WORKSPACE, token, doc)
      const closes: { code: number; reason: string }[] = []
      provider.on(
        'connection-close',
        (event: { code: number; reason: string } | null) => event && closes.push({ code: event.code, reason: event.reason }),
      )
      try {
        await synced(provider)
        const chunk = 'z'.repeat(1024 * 1024)
        const notes = doc.getArray<string>('notes')
        for (let i = 0; closes.length === 0 && i < MAX_LAYOUT_DOC_BYTES / chunk.length + 4; i++) {
          notes.push([chunk])
          await new Promise((r) => setTimeout(r, 50))
        }
        await until('the server to refuse an update', () => closes.length > 0)
        expect(closes[0]).toEqual({ code: 1009, reason: expect.stringMatching(/size limit .* update refused/) })
      } finally {
        provider.destroy()
      }
      // A fresh client gets what the server kept: under the bound, and no part of a refused update.
      const fresh = new Y.Doc()
      const reader = connectProvider(url, WORKSPACE, token, fresh)
      try {
        await synced(reader)
        expect(Y.encodeStateAsUpdateV2(fresh).length).toBeLessThanOrEqual(MAX_LAYOUT_DOC_BYTES)
        const kept = fresh.getArray<string>('notes').toArray()
        expect(kept.length).toBeGreaterThan(0)
        expect(kept.every((note) => note.length === 1024 * 1024)).toBe(true)
      } finally {
        reader.destroy()
      }
    }, 60_000)
  })
}

it('a client sending while its document loads is not read meanwhile (nothing piles up in the server); what it sent is applied once loaded', async () => {
  const home = mkdtempSync(join(tmpdir(), 'tabula-sync-gated-'))
  onTestFinished(() => rmSync(home, { recursive: true, force: true }))
  const disk = createLowdbStore(join(home, 'layouts'))
  let open!: () => void
  const loaded = new Promise<void>((resolve) => (open = resolve))
  // The store is the edge: a load that takes as long as the test says (a slow disk, a far Redis).
  const store: DocStore = { ...disk, load: async (name) => (await loaded, disk.load(name)) }
  server = await startLocalSync({ home, store })
  const { ws } = await rawClient(server.url, WORKSPACE, server.token)
  // One update of 1 MiB sent 48 times (applied once, so the document stays under its bound): far
  // more than the kernel's socket buffers take. Then a small one, which must land after them.
  const writer = new Y.Doc()
  const updates: Uint8Array[] = []
  writer.on('update', (update: Uint8Array) => updates.push(update))
  writer.getMap('bulk').set('big', 'x'.repeat(1024 * 1024))
  writer.getMap('bulk').set('last', 'after all the others')
  const [big, last] = updates as [Uint8Array, Uint8Array]
  for (const update of [...Array(48).fill(big), last]) {
    const message = encoding.createEncoder()
    encoding.writeVarUint(message, 0) // sync
    encoding.writeVarUint(message, 2) // update
    encoding.writeVarUint8Array(message, update)
    ws.send(encoding.toUint8Array(message))
  }
  // While the document loads the server reads nothing more: the client's own buffer keeps most of it.
  await until('the client has written what the kernel takes', () => ws.bufferedAmount < 48 * 1024 * 1024, 10_000)
  await new Promise((resolve) => setTimeout(resolve, 500)) // time the server would need to read it all
  expect(ws.bufferedAmount).toBeGreaterThan(24 * 1024 * 1024)
  open()
  await until('the client has sent everything', () => ws.bufferedAmount === 0, 30_000)
  const reader = new Y.Doc()
  const provider = connectProvider(server.url, WORKSPACE, server.token, reader)
  await synced(provider)
  await until('every update applied', () => reader.getMap('bulk').get('last'), {
    timeoutMs: 30_000,
    ok: (v) => v === 'after all the others',
  })
  expect((reader.getMap('bulk').get('big') as string).length).toBe(1024 * 1024)
  provider.destroy()
  ws.close()
}, 60_000)
