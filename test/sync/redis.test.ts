/**
 * `tabula sync --redis`: several real sync processes on one real redis-server, stock y-websocket
 * providers spread over them (docs/sync.md, "Many instances on Redis"). "Acknowledged" means, as
 * in the single-instance tests, that a viewer on another instance has received the update: the
 * server relays an update only once Redis has it.
 */
import { until } from '../helpers/wait.js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import * as Y from 'yjs'
import { Redis } from 'ioredis'
import type { WebsocketProvider } from 'y-websocket'
import { DEFAULT_GROUP, initLayout, newTabKey, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { COMPACT_AFTER_UPDATES } from '../../sync-server/src/redis/backend.js'
import { startBalancer, type TestBalancer } from '../helpers/balancer.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { removeHome, startTabula, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { connectProvider, synced, tryUpgrade } from './helpers.js'

/** One token for every instance: each home holds the same `<home>/token` (docs/sync.md). */
const TOKEN = randomBytes(32).toString('hex')

function layoutOf(doc: Y.Doc): Array<[string, string | null]> {
  return readLayout(doc)
    .tabsByGroup.get(DEFAULT_GROUP)!
    .map((t) => [t.key, t.title])
}
const same = (a: Y.Doc, b: Y.Doc) => JSON.stringify(layoutOf(a)) === JSON.stringify(layoutOf(b))

/** Appends `count` tabs at the end of the default group, each with a title naming its writer. */
function addTabs(doc: Y.Doc, count: number, who: string): string[] {
  initLayout(doc)
  const keys: string[] = []
  for (let i = 0; i < count; i++) {
    const tabs = layoutOf(doc)
    const key = newTabKey()
    placeTab(doc, key, DEFAULT_GROUP, tabs[tabs.length - 1]?.[0] ?? null, null)
    setTitle(doc, key, `${who} ${i}`)
    keys.push(key)
  }
  return keys
}

describe('sync on redis: several instances', () => {
  let redis: TestRedis
  /** Three instances the tests share (started once: each start costs a second); the last test kills one. */
  let trio: RunningTabula[]
  const running: RunningTabula[] = []
  const homes: string[] = []
  const providers: WebsocketProvider[] = []
  const balancers: TestBalancer[] = []

  beforeAll(async () => {
    redis = await startRedis()
    trio = await Promise.all([instance(), instance(), instance()])
    running.length = 0 // the trio lives until afterAll
  })
  afterAll(async () => {
    for (const t of trio ?? []) await t.stop('SIGKILL')
    for (const h of homes.splice(0)) removeHome(h)
    await redis?.stop()
  })
  afterEach(async () => {
    for (const p of providers.splice(0)) p.destroy()
    for (const b of balancers.splice(0)) await b.close()
    for (const t of running.splice(0)) await t.stop('SIGKILL')
  })

  /** A `tabula sync --redis` process on a home of its own that holds the shared token. */
  async function instance(): Promise<RunningTabula> {
    const home = tempHome('tabula-redis-home-')
    homes.push(home)
    writeFileSync(join(home, 'token'), TOKEN + '\n', { mode: 0o600 })
    const started = await startTabula(['sync', '--redis', redis.url], { home })
    running.push(started)
    return started
  }

  function viewer(url: string, workspace: string, doc = new Y.Doc()): WebsocketProvider {
    const p = connectProvider(url, workspace, TOKEN, doc)
    providers.push(p)
    return p
  }

  it('three instances: viewers spread over them converge, presence included', async () => {
    const instances = trio
    const workspace = randomUUID()
    const viewers = instances.flatMap((i) => [viewer(i.syncUrl, workspace), viewer(i.syncUrl, workspace)])
    await Promise.all(viewers.map(synced))
    // Everyone edits at once: each adds its own tabs, one renames a tab another made.
    for (const [n, v] of viewers.entries()) addTabs(v.doc, 3, `viewer${n}`)
    await until('every viewer has all 18 tabs', () => viewers.every((v) => layoutOf(v.doc).length === 18))
    await until('every viewer shows the same order', () => viewers.every((v) => same(v.doc, viewers[0]!.doc)))
    const firstOfLast = layoutOf(viewers[5]!.doc).find(([, title]) => title === 'viewer5 0')![0]
    setTitle(viewers[0]!.doc, firstOfLast, 'renamed across instances')
    await until('the rename reaches viewers on every instance', () =>
      viewers.every((v) => layoutOf(v.doc).some(([k, t]) => k === firstOfLast && t === 'renamed across instances')),
    )
    // Presence: a state set by a viewer on the first instance is seen on the third.
    viewers[0]!.awareness.setLocalStateField('viewer', { name: 'first', activeTab: firstOfLast })
    await until('presence crosses instances', () =>
      [...viewers[5]!.awareness.getStates().values()].some((s) => (s as { viewer?: { name?: string } }).viewer?.name === 'first'),
    )
    // The instances keep no room to themselves.
    for (const i of instances) expect(existsSync(join(i.home, 'layouts'))).toBe(false)
  })

  it('a new instance on an empty home serves every document', async () => {
    const [a, b] = trio as [RunningTabula, RunningTabula, RunningTabula]
    const workspaces = [randomUUID(), randomUUID(), randomUUID()]
    const expected = new Map<string, Y.Doc>()
    for (const [n, workspace] of workspaces.entries()) {
      const writer = viewer((n % 2 ? a : b).syncUrl, workspace)
      const witness = viewer((n % 2 ? b : a).syncUrl, workspace)
      await Promise.all([synced(writer), synced(witness)])
      addTabs(writer.doc, 4, `ws${n}`)
      await until('acknowledged on the other instance', () => same(witness.doc, writer.doc) && layoutOf(witness.doc).length === 4)
      expected.set(workspace, writer.doc)
    }
    for (const p of providers.splice(0)) p.destroy()
    // The new instance has never seen a room, and no viewer is left anywhere to resend anything.
    const fresh = await instance()
    for (const workspace of workspaces) {
      const reader = viewer(fresh.syncUrl, workspace)
      await synced(reader)
      expect(layoutOf(reader.doc)).toEqual(layoutOf(expected.get(workspace)!))
    }
    expect(existsSync(join(fresh.home, 'layouts'))).toBe(false)
  })

  it('redis killed and restarted with its append-only file loses nothing acknowledged; meanwhile connections are refused', async () => {
    const [a, b] = trio as [RunningTabula, RunningTabula, RunningTabula]
    const workspace = randomUUID()
    const writer = viewer(a.syncUrl, workspace)
    const witness = viewer(b.syncUrl, workspace)
    await Promise.all([synced(writer), synced(witness)])
    addTabs(writer.doc, 5, 'acked')
    await until(
      'acknowledged: the witness on the other instance has all 5',
      () => layoutOf(witness.doc).length === 5 && same(witness.doc, writer.doc),
    )
    const acknowledged = layoutOf(writer.doc)

    await redis.kill()
    // What a client sees while Redis is down: its connection is closed, and a new one is refused
    // with 503 before the upgrade (the provider keeps retrying with backoff).
    await until('both viewers are disconnected', () => !writer.wsconnected && !witness.wsconnected)
    const refused = await tryUpgrade(a.syncUrl, `/sync/${workspace}`, { authorization: `Bearer ${TOKEN}` })
    expect(refused.status).toBe(503)
    // Edits made meanwhile stay in the viewer's replica.
    addTabs(writer.doc, 1, 'offline')

    await redis.restart()
    await until(
      'after the restart the offline edit goes through',
      () => layoutOf(witness.doc).length === 6 && same(witness.doc, writer.doc),
      20_000,
    )
    // A new instance on an empty home reads everything back from the restarted Redis.
    for (const p of providers.splice(0)) p.destroy()
    const fresh = await instance()
    const reader = viewer(fresh.syncUrl, workspace)
    await synced(reader)
    const after = layoutOf(reader.doc)
    expect(after.slice(0, 5)).toEqual(acknowledged)
    expect(after).toHaveLength(6)
  })

  it('compaction keeps a room near its compacted size, and unchanged for readers', async () => {
    const a = trio[0]!
    const workspace = randomUUID()
    const writer = viewer(a.syncUrl, workspace)
    await synced(writer)
    const keys = addTabs(writer.doc, 10, 'tab')
    const ROUNDS = 3 * COMPACT_AFTER_UPDATES
    for (let i = 0; i < ROUNDS; i++) {
      // One update per round trip, as a person's edits would come.
      setTitle(writer.doc, keys[i % keys.length]!, `title ${i}`)
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5))
    }
    const check = viewer(a.syncUrl, workspace)
    await until('every edit is in redis', async () => {
      const probe = viewer(a.syncUrl, workspace)
      await synced(probe)
      return same(probe.doc, writer.doc)
    })
    const client = new Redis(redis.url)
    try {
      const length = await client.xlen(`tabula:layout:{${workspace}}:updates`)
      const snapshot = await client.hgetBuffer(`tabula:layout:{${workspace}}:snapshot`, 'state')
      expect(length).toBeLessThan(COMPACT_AFTER_UPDATES + 20)
      expect(snapshot).not.toBeNull()
      // The snapshot is the merged state: far smaller than the edits it folds.
      expect(snapshot!.length).toBeLessThan(Y.encodeStateAsUpdateV2(writer.doc).length * 2)
    } finally {
      client.disconnect()
    }
    await synced(check)
    expect(layoutOf(check.doc)).toEqual(layoutOf(writer.doc))
  })

  it('tabula up --redis serves the document a sync instance wrote, and keeps none of its own', async () => {
    const a = trio[0]!
    const workspace = randomUUID()
    const writer = viewer(a.syncUrl, workspace)
    await synced(writer)
    addTabs(writer.doc, 3, 'from sync')
    await until('the edits are in redis', async () => {
      const probe = viewer(a.syncUrl, workspace)
      await synced(probe)
      return same(probe.doc, writer.doc)
    })
    const home = tempHome('tabula-redis-up-')
    homes.push(home)
    writeFileSync(join(home, 'token'), TOKEN + '\n', { mode: 0o600 })
    const up = await startTabula(['up', '--redis', redis.url, '--no-restore'], { home })
    running.push(up)
    // Under `up` a room must name a workspace the daemon knows.
    const created = await fetch(`${up.url}/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: home, id: workspace }),
    })
    expect(created.status).toBe(201)
    const reader = viewer(up.url, workspace)
    await synced(reader)
    expect(layoutOf(reader.doc)).toEqual(layoutOf(writer.doc))
    expect(existsSync(join(home, 'layouts'))).toBe(false)
  })

  it('the security checks are unchanged: no token 401, wrong token 403, bad room 400', async () => {
    const a = trio[0]!
    expect((await tryUpgrade(a.syncUrl, `/sync/${randomUUID()}`, {})).status).toBe(401)
    expect((await tryUpgrade(a.syncUrl, `/sync/${randomUUID()}`, { authorization: `Bearer ${'f'.repeat(64)}` })).status).toBe(403)
    expect((await tryUpgrade(a.syncUrl, '/sync/not-a-uuid', { authorization: `Bearer ${TOKEN}` })).status).toBe(400)
    expect(
      (await tryUpgrade(a.syncUrl, `/sync/${randomUUID()}`, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).status,
    ).toBe(403)
  })
  it('kill -9 of an instance: its viewers move to another through the balancer and nothing is lost', async () => {
    const instances = trio
    const balancer = await startBalancer(instances.map((i) => i.syncUrl))
    balancers.push(balancer)
    const workspace = randomUUID()
    // Round robin: viewer n lands on instance n.
    const viewers: WebsocketProvider[] = []
    for (let n = 0; n < 3; n++) {
      const v = viewer(balancer.url, workspace)
      await synced(v)
      viewers.push(v)
    }
    expect([...balancer.carried.values()]).toEqual([1, 1, 1])
    for (const [n, v] of viewers.entries()) addTabs(v.doc, 2, `before${n}`)
    await until('acknowledged: all viewers have all 6', () =>
      viewers.every((v) => layoutOf(v.doc).length === 6 && same(v.doc, viewers[0]!.doc)),
    )

    instances[0]!.proc.kill('SIGKILL')
    await instances[0]!.stop()
    // The victim's viewer keeps editing while it is cut off; the others go on too.
    addTabs(viewers[0]!.doc, 2, 'during')
    addTabs(viewers[1]!.doc, 1, 'meanwhile')
    await until(
      'the moved viewer and the others converge',
      () => viewers.every((v) => layoutOf(v.doc).length === 9 && same(v.doc, viewers[0]!.doc)),
      20_000,
    )
    expect(viewers[0]!.wsconnected).toBe(true)

    // A fresh viewer (on a surviving instance) sees everything.
    const fresh = viewer(balancer.url, workspace)
    await synced(fresh)
    await until('a fresh viewer has the whole layout', () => same(fresh.doc, viewers[0]!.doc))
  })
})
