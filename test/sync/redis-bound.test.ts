/**
 * The layout document's size bound holds across sync instances on one Redis (docs/sync.md,
 * "Bounds"): two instances each accepting an update at the same moment cannot both pass it on
 * what each saw before the other's update. A real redis-server started here, two sync servers on
 * it (each its own Redis connections and host), a stock y-websocket client on each.
 */
import { afterAll, afterEach, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import * as Y from 'yjs'
import type { WebsocketProvider } from 'y-websocket'
import { MAX_LAYOUT_DOC_BYTES } from '@tabula/protocol'
import { createLogger } from '@tabula/server-kit'
import { createRedisRooms } from '../../sync-server/src/redis/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { until } from '../helpers/wait.js'
import { connectProvider, startLocalSync, synced, type LocalSync } from './helpers.js'

const CHUNK = 1024 * 1024

let redis: TestRedis | null = null
const servers: LocalSync[] = []
const providers: WebsocketProvider[] = []
afterEach(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const s of servers.splice(0)) await s.stop()
})
afterAll(async () => {
  await redis?.stop()
})

async function instance(url: string): Promise<LocalSync> {
  const server = await startLocalSync({ rooms: await createRedisRooms(url, createLogger('sync-test', 'silent')) })
  servers.push(server)
  return server
}

function viewer(server: LocalSync, workspace: string): WebsocketProvider {
  const provider = connectProvider(server.url, workspace, server.token)
  providers.push(provider)
  return provider
}

function closesOf(provider: WebsocketProvider): Array<{ code: number; reason: string }> {
  const closes: Array<{ code: number; reason: string }> = []
  provider.on(
    'connection-close',
    (event: { code: number; reason: string } | null) => event && closes.push({ code: event.code, reason: event.reason }),
  )
  return closes
}

/** Clients on each instance that send their chunk at the same moment. */
const SENDERS_PER_INSTANCE = 3

it('instances accepting updates at once: only one passes the size bound, every other client is told', async () => {
  redis = await startRedis()
  const [a, b] = [await instance(redis.url), await instance(redis.url)]
  const workspace = randomUUID()

  // Fill the document to about 1.5 chunks under the bound, through the first instance.
  const filler = viewer(a, workspace)
  await synced(filler)
  const notes = filler.doc.getArray<string>('notes')
  const fill = Math.floor(MAX_LAYOUT_DOC_BYTES / CHUNK) - 2
  for (let i = 0; i < fill; i++) notes.push(['f'.repeat(CHUNK)])
  notes.push(['h'.repeat(CHUNK / 2)])
  const witness = viewer(b, workspace)
  await synced(witness)
  await until('the filled document on the second instance', () => witness.doc.getArray('notes').length === fill + 1)
  filler.destroy()
  witness.destroy()

  // One more chunk fits; two do not. Clients on both instances send one each at the same moment.
  const senders = [a, b].flatMap((server) => Array.from({ length: SENDERS_PER_INSTANCE }, () => viewer(server, workspace)))
  await Promise.all(senders.map(synced))
  const closes = senders.map(closesOf)
  for (const [i, sender] of senders.entries()) sender.doc.getArray<string>('notes').push([String.fromCharCode(65 + i).repeat(CHUNK)])

  // All but one are refused whole, and told why.
  await until('all but one update to be refused', () => closes.filter((c) => c.length > 0).length === senders.length - 1, 30_000)
  for (const c of closes.filter((c) => c.length > 0))
    expect(c[0]).toEqual({ code: 1009, reason: expect.stringMatching(/size limit .* update refused/) })
  const accepted = closes.findIndex((c) => c.length === 0)

  // What Redis keeps, read by a fresh client on either instance: within the bound, the accepted chunk and no other.
  for (const server of [a, b]) {
    const reader = viewer(server, workspace)
    await synced(reader)
    const kept = reader.doc.getArray<string>('notes').toArray()
    expect(Y.encodeStateAsUpdateV2(reader.doc).length).toBeLessThanOrEqual(MAX_LAYOUT_DOC_BYTES)
    expect(kept.filter((note) => note[0] !== 'f' && note[0] !== 'h').map((note) => note[0])).toEqual([String.fromCharCode(65 + accepted)])
  }
  expect(closes[accepted]).toEqual([])
}, 60_000)
