/**
 * The SDK's live client against the real daemon: shared terminals, the driver role, and
 * reconnecting by itself after its connection drops (cut by a TCP proxy in the middle).
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session } from '@tabula/protocol'
import { createLiveClient, type LiveClient, type SizeChange, type TerminalHandle } from '../../client-sdk/src/live/index.js'
import { WebSocket } from 'ws'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { Screen, makeWorkspace, spawnSession } from './helpers.js'
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

async function shown(screen: Screen, text: string): Promise<void> {
  await until(`the screen to show ${text}`, () => screen.text(), { ok: (seen) => seen.includes(text) })
}

describe('the SDK live client', () => {
  it("two clients share a terminal: each sees the other's input, the first chunk is reset + snapshot", async () => {
    const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'echo before-anyone; exec cat'] })
    const a = client()
    const b = client()
    const ha = a.attach(session.key)
    const va = show(ha)
    await shown(va.screen, 'before-anyone')
    const hb = b.attach(session.key)
    const vb = show(hb)
    await shown(vb.screen, 'before-anyone')
    expect(vb.chunks[0]!.startsWith('\x1bc')).toBe(true)
    expect(vb.chunks[0]).toContain('before-anyone')

    ha.write('from-client-a\r')
    await shown(vb.screen, 'from-client-a')
    hb.write('from-client-b\r')
    await shown(va.screen, 'from-client-b')
    // Input made b the driver; both were told.
    await until('a to hear that b drives', () => va.sizes.some((s) => s.activeViewer === b.viewerId))
    // a resizes: ignored (not active). a claims with setActive, then its resize reaches everyone.
    ha.setActive(true)
    await until('b to hear that a drives', () => vb.sizes.some((s) => s.activeViewer === a.viewerId))
    ha.resize(101, 31)
    await until('b to hear the new size', () => vb.sizes.some((s) => s.cols === 101 && s.rows === 31))
    // b is not the driver: its resize is refused, and b's onSize reports the size staying put.
    const seen = vb.sizes.length
    hb.resize(70, 20)
    await until("the answer to b's resize", () => vb.sizes.length > seen)
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
    await until('the full set', () => fullSets === 1)
    const s = await spawnSession(t, ws, { command: 'cat' })
    await until('the added session', () => keys.includes(s.key))
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
      await until('the far client to connect', () => far.state === 'open' && fullSets === 1)
      // Input is only sent once a handle is attached: wait for both snapshots before typing.
      await until('both snapshots', () => vd.chunks.length > 0 && vf.chunks.length > 0)
      hd.write('before-the-drop\r')
      await shown(vf.screen, 'before-the-drop')
      const firstId = far.viewerId

      const states: string[] = []
      far.onState((s) => states.push(s))
      // Cut, not a blip: the jittered first retry may come within milliseconds, and the output
      // below must be written while this client is really away.
      proxy.cut()
      await until('the client to notice the drop', () => states.includes('connecting'))
      // Output while it is away must reach it through the new snapshot.
      await shown(vd.screen, 'before-the-drop')
      hd.write('while-away\r')
      await shown(vd.screen, 'while-away')
      proxy.heal()

      await until('the far client to reconnect and re-watch', () => far.state === 'open' && fullSets === 2, 20_000)
      expect(far.viewerId).not.toBe(firstId)
      expect(proxy.connections).toBeGreaterThanOrEqual(2)
      await shown(vf.screen, 'while-away')
      const resets = vf.chunks.filter((c) => c.startsWith('\x1bc'))
      expect(resets.length).toBe(2)
      expect(resets[1]).toContain('while-away')

      // Live output flows again, both ways.
      hd.write('after-return\r')
      await shown(vf.screen, 'after-return')
      hf.write('far-typed\r')
      await shown(vd.screen, 'far-typed')
    } finally {
      await proxy?.close()
    }
  })

  it('delivers output as bytes through onBytes, exactly as the program wrote them (no decode)', async () => {
    // Bytes a string path cannot carry: a lone 0xff and a UTF-8 character split by a pause.
    const session = await spawnSession(t, workspace, {
      command: 'sh',
      args: ['-c', "read line; printf 'A\\377B\\342\\202'; sleep 0.3; printf '\\254C\\n'; read line"],
    })
    const c = client()
    const h = c.attach(session.key)
    const chunks: Uint8Array[] = []
    h.onBytes((data) => chunks.push(data))
    await until('the snapshot', () => chunks.length > 0)
    const first = new TextDecoder().decode(chunks[0])
    expect(first.startsWith('\x1bc')).toBe(true) // the first chunk: reset + snapshot, encoded
    h.write('go\r')
    const wanted = [0x41, 0xff, 0x42, 0xe2, 0x82, 0xac, 0x43]
    const joined = () => Buffer.concat(chunks.slice(1))
    await until('the bytes, unchanged', () => joined().includes(Buffer.from(wanted)))
    expect(chunks.every((chunk) => chunk instanceof Uint8Array)).toBe(true)
    // A string listener added later still gets text (decoded from the next snapshot on).
    const texts: string[] = []
    h.onData((text) => texts.push(text))
    h.write('x\r')
    await until('text after a string listener joined', () => texts.join('').includes('x'))
  })

  it("reports the program's exit through onExit, with its code", async () => {
    const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'read line; exit 7'] })
    const c = client()
    const h = c.attach(session.key)
    const v = show(h)
    const codes: Array<number | null> = []
    h.onExit((code) => codes.push(code))
    await until('the snapshot', () => v.chunks.length > 0)
    h.write('go\r')
    await until('onExit', () => codes.length > 0)
    expect(codes).toEqual([7])
  })

  it('dispose detaches: no more output reaches the handle, and its claim on the driver role is released', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const c = client()
    const watcher = client()
    const h = c.attach(session.key)
    const v = show(h)
    const hw = watcher.attach(session.key)
    const vw = show(hw)
    await until('both snapshots', () => v.chunks.length > 0 && vw.chunks.length > 0)
    h.setActive(true)
    await until('the claim', () => vw.sizes.some((s) => s.activeViewer === c.viewerId))

    h.dispose()
    await until('the claim to be released by the detach', () => vw.sizes.at(-1)?.activeViewer === null)
    const seen = v.chunks.length
    hw.write('after-dispose\r')
    await shown(vw.screen, 'after-dispose')
    expect(v.chunks.length).toBe(seen)
    // Writing to a disposed handle is a no-op, not an error, and sends nothing.
    h.write('ghost\r')
    hw.write('still-here\r')
    await shown(vw.screen, 'still-here')
    expect(await vw.screen.text()).not.toContain('ghost')
  })

  it("claims the driver role again after a reconnect (the daemon dropped the old connection's claim)", async () => {
    let proxy: TestProxy | null = null
    try {
      proxy = await startProxy(t.daemonUrl)
      const session = await spawnSession(t, workspace, { command: 'cat', cols: 80, rows: 24 })
      const far = client(proxy.url)
      const hf = far.attach(session.key)
      const vf = show(hf)
      await until('the far client to attach', () => far.state === 'open' && vf.chunks.length > 0)
      hf.resize(99, 33)
      hf.setActive(true)
      await until('the claim with its size', () => vf.sizes.some((s) => s.activeViewer === far.viewerId && s.cols === 99))
      const firstId = far.viewerId

      proxy.drop()
      await until('the reconnect', () => far.state === 'open' && far.viewerId !== firstId, 20_000)
      // Re-claimed as the new viewer, with the size it asked for: the daemon's record says so.
      const record = await until('the daemon to record the re-claim', async () => {
        const list = (await (
          await fetch(`${t.daemonUrl}/v1/workspaces/${workspace}/sessions`, { headers: { authorization: `Bearer ${t.token}` } })
        ).json()) as { sessions: Session[] }
        const found = list.sessions.find((s) => s.key === session.key)
        return found?.activeViewer === far.viewerId ? found : null
      })
      expect(record).toMatchObject({ cols: 99, rows: 33 })
    } finally {
      await proxy?.close()
    }
  })

  it('input written before the attach has answered is kept and reaches the program', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const h = client().attach(session.key)
    const v = show(h)
    h.write('typed-at-once\r') // no snapshot yet: the daemon has not even seen the attach
    await shown(v.screen, 'typed-at-once')
  })

  it('a claim made before the attach has answered is honoured, even while another viewer drives', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const driver = client()
    const hd = driver.attach(session.key)
    const vd = show(hd)
    await until('the first snapshot', () => vd.chunks.length > 0)
    hd.setActive(true)
    await until('the first claim', () => vd.sizes.some((s) => s.activeViewer === driver.viewerId))

    const late = client()
    const hl = late.attach(session.key)
    hl.setActive(true) // asked at once, before the daemon has answered the attach
    await until('the late viewer to drive', () => vd.sizes.at(-1)?.activeViewer === late.viewerId)
  })

  it('reports a session closed at the daemon through onClosed', async () => {
    const session = await spawnSession(t, workspace, { command: 'cat' })
    const c = client()
    const h = c.attach(session.key)
    const v = show(h)
    await until('the snapshot', () => v.chunks.length > 0)
    let reason = ''
    h.onClosed((r) => (reason = r))
    await fetch(`${t.daemonUrl}/v1/workspaces/${workspace}/sessions/${session.key}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.token}` },
    })
    await until('onClosed', () => reason === 'closed')
  })
})
