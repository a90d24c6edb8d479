/**
 * The SDK against the real `tabula up` (daemon, live channel and sync server in one process):
 * what a viewer shows, with real sockets and the stock y-websocket provider.
 */
import { until } from '../helpers/wait.js'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { DaemonClient, placeTab, readLayout, setTitle, TABS_MAP, wsProtocols } from '@tabula/protocol'
import { connect, type TabulaClient, type WorkspaceView } from '@tabula/client-sdk'
import { removeHome, startTabula, TABULA_BIN, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { startProxy, type TestProxy } from '../helpers/proxy.js'
import { keysOf } from './helpers/views.js'
import { readK2soFixture } from '../helpers/fixtures.js'

const fixture = readK2soFixture()

const clients: TabulaClient[] = []
async function viewer(url: string, token: string, name: string, extra: Record<string, unknown> = {}): Promise<TabulaClient> {
  const client = await connect({ url, token, viewer: { name, kind: 'test' }, ...extra })
  clients.push(client)
  return client
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** A stand-in program that lives until it is closed. */
const LONG_RUNNING = { command: 'sleep', args: ['600'] }

describe('the fixture workspace (k2so-layout-v1)', () => {
  let tabula: RunningTabula
  let home: string

  beforeAll(async () => {
    home = tempHome('tabula-sdk-fixture-')
    const rows = join(home, 'rows.json')
    writeFileSync(rows, JSON.stringify([{ ...fixture.workspace_layouts_row, path: fixture.workspace.path }]))
    execFileSync(process.execPath, [TABULA_BIN, 'import-layouts', rows, '--home', home], {
      env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    })
    tabula = await startTabula(['up'], { home })
    const daemon = new DaemonClient({ url: tabula.url, token: tabula.token })
    // The daemon's three live sessions, in the fixture's order (creation order matters for the
    // one the layout does not place).
    for (const { key } of fixture.daemon_sessions) {
      expect((await daemon.spawn(fixture.workspace.id, { key, ...LONG_RUNNING })).created).toBe(true)
    }
  })
  afterAll(async () => {
    await tabula?.stop()
    removeHome(home)
  })

  it('shows exactly the expected tabs, in order, with their titles', async () => {
    const client = await viewer(tabula.url, tabula.token, 'fixture')
    const ws = client.workspace(fixture.workspace.id)
    await ws.ready
    const expected = fixture.expected.sdk_tabs_in_order
    await until('the three live sessions', () => keysOf(ws).length === expected.length)
    expect(keysOf(ws)).toEqual(expected)
    const titles = Object.fromEntries(ws.tabs().map((t) => [t.key, t.title]))
    expect(titles[expected[0]!]).toBe(fixture.expected.titles[expected[0]!]) // "Chat"
    expect(titles[expected[1]!]).toBe(fixture.expected.titles[expected[1]!]) // "Claude"
    expect(titles[expected[2]!]).toBe('sleep') // no layout entry: the command
    expect(ws.tabs().map((t) => t.kind)).toEqual(['chat', 'terminal', 'terminal'])
    // The Manager entry is in the document but has no session: never a tab.
    expect(readLayout(ws.doc).placements.has('tab-a4164034-9e2b-4c7d-8f1a-3b6c0e5d7a92')).toBe(true)
  })
})

describe('viewers of one workspace', () => {
  let tabula: RunningTabula
  let workspaceId: string
  let daemon: DaemonClient

  beforeAll(async () => {
    tabula = await startTabula(['up'])
    daemon = new DaemonClient({ url: tabula.url, token: tabula.token })
    mkdirSync('/tmp/tabula-sdk-test', { recursive: true }) // a new workspace must be an existing directory
    workspaceId = (await daemon.ensureWorkspace({ path: '/tmp/tabula-sdk-test', name: 'sdk' })).id
  })
  afterAll(async () => {
    await tabula?.stop()
    removeHome(tabula.home)
  })

  async function closeAllSessions(): Promise<void> {
    for (const s of (await daemon.sessions(workspaceId)).sessions) await daemon.close(workspaceId, s.key)
  }
  afterEach(closeAllSessions)

  async function twoViewers(): Promise<[WorkspaceView, WorkspaceView]> {
    const a = (await viewer(tabula.url, tabula.token, 'a')).workspace(workspaceId)
    const b = (await viewer(tabula.url, tabula.token, 'b')).workspace(workspaceId)
    await Promise.all([a.ready, b.ready])
    return [a, b]
  }

  it('lists and finds-or-creates workspaces; a workspace the daemon does not know fails `ready` with why', async () => {
    const client = await viewer(tabula.url, tabula.token, 'lister')
    expect((await client.workspaces()).map((w) => w.id)).toContain(workspaceId)
    const again = await client.ensureWorkspace({ path: '/tmp/tabula-sdk-test' })
    expect(again.id).toBe(workspaceId)
    const unknown = client.workspace('00000000-0000-4000-8000-000000000000')
    await expect(unknown.ready).rejects.toMatchObject({ status: 404, code: 'not_found' })
    const stranger = await viewer(tabula.url, 'not-the-token', 'stranger')
    await expect(stranger.workspaces()).rejects.toMatchObject({ status: 403 })
  })

  it("reads a workspace's sessions without opening a view; unknown workspace 404, wrong token 403", async () => {
    const client = await viewer(tabula.url, tabula.token, 'looker')
    const [a] = await twoViewers()
    const key = await a.spawn({ ...LONG_RUNNING })
    expect((await client.sessionsIn(workspaceId)).map((s) => s.key)).toContain(key)
    expect(a.presence().map((p) => p.viewer.name)).not.toContain('looker')
    await expect(client.sessionsIn('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404, code: 'not_found' })
    const stranger = await viewer(tabula.url, 'not-the-token', 'stranger')
    await expect(stranger.sessionsIn(workspaceId)).rejects.toMatchObject({ status: 403 })
    await a.close(key)
  })

  it('spawns where asked, and moves and renames reach the other viewer', async () => {
    const [a, b] = await twoViewers()
    const k1 = await a.spawn({ ...LONG_RUNNING, title: 'one' })
    const k2 = await a.spawn({ ...LONG_RUNNING })
    const k0 = await a.spawn({ ...LONG_RUNNING, index: 0, title: 'zero' })
    expect(keysOf(a)).toEqual([k0, k1, k2])
    await until('b sees the spawns in place', () => JSON.stringify(keysOf(b)) === JSON.stringify([k0, k1, k2]))
    expect(b.tabs().map((t) => t.title)).toEqual(['zero', 'one', 'sleep'])

    b.move(k2, { index: 0 })
    b.rename(k1, 'renamed')
    expect(keysOf(b)).toEqual([k2, k0, k1]) // local first
    await until('a sees b’s edits', () => JSON.stringify(keysOf(a)) === JSON.stringify([k2, k0, k1]) && a.tabs()[2]!.title === 'renamed')
    a.rename(k1, null)
    await until('b sees the cleared title', () => b.tabs().find((t) => t.key === k1)?.title === 'sleep')
  })

  it('a stock Yjs client that writes phantom keys cannot make a tab appear', async () => {
    const [a] = await twoViewers()
    const live = await a.spawn(LONG_RUNNING)
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(tabula.url.replace(/^http/, 'ws') + '/sync', workspaceId, doc, {
      protocols: wsProtocols(tabula.token),
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    })
    try {
      await new Promise<void>((resolve) => provider.once('sync', () => resolve()))
      const phantom = 'tab-00000000-0000-4000-8000-00000000dead'
      doc.transact(() => {
        placeTab(doc, phantom, 'main', null, null)
        setTitle(doc, phantom, 'I do not exist')
        setTitle(doc, 'hb-ghost', 'nor do I')
        doc.getMap(TABS_MAP).set('not a key at all', 'garbage')
      })
      await until(
        'the phantom entries reached the viewer’s document',
        () => a.doc.getMap(TABS_MAP).has(phantom) && a.doc.getMap(TABS_MAP).has('hb-ghost'),
      )
      expect(keysOf(a)).toEqual([live])
    } finally {
      provider.destroy()
    }
  })

  it('a close at the daemon leaves every viewer', async () => {
    const views = await Promise.all(['x', 'y', 'z'].map(async (n) => (await viewer(tabula.url, tabula.token, n)).workspace(workspaceId)))
    await Promise.all(views.map((v) => v.ready))
    const key = await views[0]!.spawn(LONG_RUNNING)
    const other = await views[0]!.spawn(LONG_RUNNING)
    await until('everyone sees both', () => views.every((v) => keysOf(v).length === 2))
    // Closed by someone who is not a viewer at all (a script, the CLI).
    expect(await daemon.close(workspaceId, key)).toEqual({ key, closed: true })
    await until('the tab left every viewer', () => views.every((v) => JSON.stringify(keysOf(v)) === JSON.stringify([other])))
  })

  it('a viewer cut off by the network edits, comes back and merges', async () => {
    const proxy: TestProxy = await startProxy(tabula.url)
    try {
      const b = (await viewer(tabula.url, tabula.token, 'b')).workspace(workspaceId)
      const a = (await viewer(proxy.url, tabula.token, 'a-behind-proxy')).workspace(workspaceId)
      await Promise.all([a.ready, b.ready])
      const [k1, k2, k3] = [await b.spawn(LONG_RUNNING), await b.spawn(LONG_RUNNING), await b.spawn(LONG_RUNNING)]
      await until('a sees three tabs', () => keysOf(a).length === 3)

      proxy.cut()
      await until('a knows it is offline', () => a.status.daemon === 'offline' && a.status.sync === 'offline' && a.status.stale)
      a.rename(k1, 'offline name')
      a.move(k3, { index: 0 })
      expect(a.tabs().map((t) => [t.key, t.customTitle])).toEqual([
        [k3, null],
        [k1, 'offline name'],
        [k2, null],
      ])
      expect(a.status.pendingEdits).toBe(true)
      // Meanwhile, online: another rename, and a close.
      b.rename(k2, 'online name')
      expect(b.doc.getMap(TABS_MAP).has(k1)).toBe(true) // spawn placed it
      await b.close(k1)
      // Closing through the SDK drops the layout entry at once, not after the pruning grace.
      expect(readLayout(b.doc).placements.has(k1)).toBe(false)
      expect(b.doc.getMap(TABS_MAP).has(k1)).toBe(false)
      expect(keysOf(a)).toContain(k1) // a cannot know yet: it shows the last known set, marked stale

      proxy.heal()
      await until(
        'a and b agree',
        () =>
          JSON.stringify(a.tabs()) === JSON.stringify(b.tabs()) && !a.status.stale && !a.status.pendingEdits && a.status.sync === 'online',
      )
      expect(a.tabs().map((t) => [t.key, t.customTitle])).toEqual([
        [k3, null],
        [k2, 'online name'],
      ])
    } finally {
      await proxy.close()
    }
  })

  it('offline edits survive a restart of the viewer (file storage)', async () => {
    const storage = join(tabula.home, 'viewer-storage')
    const proxy = await startProxy(tabula.url)
    try {
      const b = (await viewer(tabula.url, tabula.token, 'b')).workspace(workspaceId)
      await b.ready
      const key = await b.spawn(LONG_RUNNING)
      const first = await viewer(proxy.url, tabula.token, 'phone', { storage })
      const a = first.workspace(workspaceId)
      await a.ready
      await until('the phone sees the tab', () => keysOf(a).includes(key))
      proxy.cut()
      await until('the phone is offline', () => a.status.sync === 'offline')
      a.rename(key, 'named on the train')
      await first.close()
      clients.splice(clients.indexOf(first), 1)

      // Restarted while still offline: ready from the stored state, marked stale.
      const second = await viewer(proxy.url, tabula.token, 'phone', { storage })
      const again = second.workspace(workspaceId)
      await again.ready
      expect(again.status.stale).toBe(true)
      expect(
        again.tabs().map((t) => `${t.key} ${t.title}`),
        JSON.stringify(again.sessions().map((s) => s.key)),
      ).toEqual([`${key} named on the train`])

      proxy.heal()
      await until('b sees the offline rename', () => b.tabs().find((t) => t.key === key)?.title === 'named on the train')
    } finally {
      await proxy.close()
    }
  })

  it('prunes the layout entry of a session that stays closed', async () => {
    const a = (await viewer(tabula.url, tabula.token, 'pruner', { pruneAfterMs: 200 })).workspace(workspaceId)
    await a.ready
    const key = await a.spawn({ ...LONG_RUNNING, title: 'short-lived' })
    expect(readLayout(a.doc).placements.has(key)).toBe(true)
    // Closed behind the SDK's back, so only pruning can remove the entry.
    await daemon.close(workspaceId, key)
    await until('the tab is gone', () => !keysOf(a).includes(key))
    await until('its layout entry is pruned', () => !a.doc.getMap(TABS_MAP).has(key))
  })

  it('publishes each viewer’s active tab through presence, never through the document', async () => {
    const [a, b] = await twoViewers()
    const k1 = await a.spawn(LONG_RUNNING)
    const k2 = await a.spawn(LONG_RUNNING)
    await until('b sees both', () => keysOf(b).length === 2)
    const before = Y.encodeStateAsUpdate(a.doc)
    a.setActiveTab(k2)
    b.setActiveTab(k1)
    expect(a.activeTabs()).toEqual({ main: k2 })
    expect(b.activeTabs()).toEqual({ main: k1 })
    await until('b sees a’s selection', () => b.presence().find((p) => p.viewer.name === 'a' && p.activeTabs.main === k2))
    const mine = a.presence().find((p) => p.self)!
    expect(mine.viewer).toEqual({ name: 'a', kind: 'test' })
    expect(Y.encodeStateAsUpdate(a.doc)).toEqual(before)
  })

  it('publishes only the groups a viewer shows, while it keeps its selection in every group', async () => {
    const [a, b] = await twoViewers()
    const k1 = await a.spawn(LONG_RUNNING)
    const k2 = await a.spawn(LONG_RUNNING)
    const side = a.splitGroup('main', 'row')
    a.move(k2, { group: side, index: 0 })
    await until('b sees the split', () => b.tabs().some((t) => t.key === k2 && t.group === side))
    const seenByB = () => b.presence().find((p) => p.viewer.name === 'a')?.activeTabs
    await until('b sees a on both groups', () => JSON.stringify(seenByB()) === JSON.stringify({ main: k1, [side]: k2 }))
    a.setVisibleGroups([side]) // a phone showing one tab
    await until('b sees a on the shown group only', () => JSON.stringify(seenByB()) === JSON.stringify({ [side]: k2 }))
    expect(a.activeTabs()).toEqual({ main: k1, [side]: k2 })
    a.setVisibleGroups(null)
    await until('b sees a on both groups again', () => Object.keys(seenByB() ?? {}).length === 2)
  })

  it('restarts an exited session under the same key, in the same place', async () => {
    const [a] = await twoViewers()
    const keep = await a.spawn(LONG_RUNNING)
    const short = await a.spawn({ command: 'sh', args: ['-c', 'exit 3'], title: 'job' })
    a.move(short, { index: 0 })
    await until('the job exited', () => a.tabs().find((t) => t.key === short)?.status === 'exited')
    expect(a.tabs().find((t) => t.key === short)?.exitCode).toBe(3)
    await a.restart(short)
    expect(keysOf(a)).toEqual([short, keep])
    expect(a.tabs()[0]!.title).toBe('job')
  })
})
