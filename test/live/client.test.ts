/**
 * The SDK's live client against the real daemon: shared terminals, the driver role, and
 * reconnecting by itself after its connection drops (cut by a TCP proxy in the middle).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session } from '@tabula/protocol'
import { createLiveClient, type LiveClient, type SizeChange, type TerminalHandle } from '../../client-sdk/src/live/index.js'
import { WebSocket } from 'ws'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { Screen, eventually, makeWorkspace, spawnSession } from './helpers.js'
import { startProxy, type TestProxy } from '../helpers/proxy.js'

let t: RunningTabula
let workspace: string
const clients: LiveClient[] = []
const screens: Screen[] = []

beforeAll(async () => {
  t = await startTabula(['daemon', '--port', '0'])
  workspace = await makeWorkspace(t)
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  for (const s of screens) s.dispose()
  await t?.stop()
  if (t) removeHome(t.home)
})

function client(daemonUrl = t.daemonUrl): LiveClient {
  const c = createLiveClient({ daemonUrl, token: t.token, viewer: { name: 'test', kind: 'cli' }, WebSocket })
  clients.push(c)
  return c
}

/** Attaches and renders everything the handle delivers, as an app writing onData into xterm.js would. */
function show(handle: TerminalHandle): { screen: Screen; chunks: string[]; sizes: SizeChange[] } {
  const screen = new Screen()
  screens.push(screen)
  const chunks: string[] = []
  const sizes: SizeChange[] = []
  handle.onData((data) => {
    chunks.push(data)
    screen.write(data)
  })
  handle.onSize((size) => sizes.push(size))
  return { screen, chunks, sizes }
}

async function until(screen: Screen, text: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!(await screen.text()).includes(text)) {
    if (Date.now() > deadline) throw new Error(`screen never showed ${text}:\n${await screen.text()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('the SDK live client', () => {
  it('two clients share a terminal: each sees the other\'s input, the first chunk is reset + snapshot', async () => {
    const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'echo before-anyone; exec cat'] })
    const a = client()
    const b = client()
    const ha = a.attach(session.key)
    const va = show(ha)
    await until(va.screen, 'before-anyone')
    const hb = b.attach(session.key)
    const vb = show(hb)
    await until(vb.screen, 'before-anyone')
    expect(vb.chunks[0]!.startsWith('\x1bc')).toBe(true)
    expect(vb.chunks[0]).toContain('before-anyone')

    ha.write('from-client-a\r')
    await until(vb.screen, 'from-client-a')
    hb.write('from-client-b\r')
    await until(va.screen, 'from-client-b')
    // Input made b the driver; both were told.
    await eventually(() => va.sizes.some((s) => s.activeViewer === b.viewerId), 'a to hear that b drives')
    // a resizes: ignored (not active). a claims with setActive, then its resize reaches everyone.
    ha.setActive(true)
    await eventually(() => vb.sizes.some((s) => s.activeViewer === a.viewerId), 'b to hear that a drives')
    ha.resize(101, 31)
    await eventually(() => vb.sizes.some((s) => s.cols === 101 && s.rows === 31), 'b to hear the new size')
    // b is not the driver: its resize is refused, and b's onSize reports the size staying put.
    const seen = vb.sizes.length
    hb.resize(70, 20)
    await eventually(() => vb.sizes.length > seen, 'the answer to b\'s resize')
    expect(vb.sizes.at(-1)).toMatchObject({ cols: 101, rows: 31, activeViewer: a.viewerId })
  })

  it('watches a workspace: full set, then changes', async () => {
    const ws = await makeWorkspace(t)
    const c = client()
    let keys: string[] = []
    let fullSets = 0
    c.watch(ws, {
      onSessions: (_seq, sessions: Session[]) => {
        fullSets++
        keys = sessions.map((s) => s.key)
      },
      onAdded: (_seq, s) => keys.push(s.key),
      onRemoved: (_seq, key) => (keys = keys.filter((k) => k !== key)),
      onUpdated: () => {},
    })
    await eventually(() => fullSets === 1, 'the full set')
    const s = await spawnSession(t, ws, { command: 'cat' })
    await eventually(() => keys.includes(s.key), 'the added session')
  })

  it('re-attaches by itself after its connection drops, with a fresh snapshot, and re-watches', async () => {
    let proxy: TestProxy | null = null
    try {
      proxy = await startProxy(t.daemonUrl)
      const session = await spawnSession(t, workspace, { command: 'cat' })
      const direct = client()
      const hd = direct.attach(session.key)
      const vd = show(hd)
      const far = client(proxy.url)
      let fullSets = 0
      far.watch(workspace, { onSessions: () => fullSets++, onAdded() {}, onRemoved() {}, onUpdated() {} })
      const hf = far.attach(session.key)
      const vf = show(hf)
      await eventually(() => far.state === 'open' && fullSets === 1, 'the far client to connect')
      hd.write('before-the-drop\r')
      await until(vf.screen, 'before-the-drop')
      const firstId = far.viewerId

      const states: string[] = []
      far.onState((s) => states.push(s))
      proxy.drop()
      await eventually(() => states.includes('connecting'), 'the client to notice the drop')
      // Output while it is away must reach it through the new snapshot.
      await until(vd.screen, 'before-the-drop')
      hd.write('while-away\r')
      await until(vd.screen, 'while-away')

      await eventually(() => far.state === 'open' && fullSets === 2, 'the far client to reconnect and re-watch', 20_000)
      expect(far.viewerId).not.toBe(firstId)
      expect(proxy.connections).toBeGreaterThanOrEqual(2)
      await until(vf.screen, 'while-away')
      const resets = vf.chunks.filter((c) => c.startsWith('\x1bc'))
      expect(resets.length).toBe(2)
      expect(resets[1]).toContain('while-away')

      // Live output flows again, both ways.
      hd.write('after-return\r')
      await until(vf.screen, 'after-return')
      hf.write('far-typed\r')
      await until(vd.screen, 'far-typed')
    } finally {
      await proxy?.close()
    }
  })

  it('reports a session closed at the daemon through onClosed', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const c = client()
    const h = c.attach(session.key)
    const v = show(h)
    await eventually(() => v.chunks.length > 0, 'the snapshot')
    let reason = ''
    h.onClosed((r) => (reason = r))
    await fetch(`${t.daemonUrl}/v1/workspaces/${workspace}/sessions/${session.key}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.token}` },
    })
    await eventually(() => reason === 'closed', 'onClosed')
  })
})
