/**
 * A screen-first attach against the real daemon (docs/protocol.md, "Screen first"): real PTYs,
 * the SDK's live client, and plain @xterm/headless as the viewer, writing every chunk it gets in
 * order. The first chunk is the screen without its scrollback, which written into a fresh terminal
 * shows what a plain attach shows; after the second the viewer's terminal is a plain attach's,
 * scrollback and all; output between the two is neither lost nor repeated; a detach, a resize or
 * an empty history between the two is handled as the protocol says.
 */
import { until } from '../helpers/wait.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import xtermHeadless, { type Terminal } from '@xterm/headless'
import { WebSocket } from 'ws'
import type { ServerFrame } from '@tabula/protocol'
import { createLiveClient, type AttachOptions, type LiveClient, type SizeChange } from '../../client-sdk/src/live/index.js'
import { RawViewer, makeWorkspace, sharedDaemon, spawnSession, type AttachedFrame, type ResyncFrame } from './helpers.js'
import { settle, terminalState } from '../screen/terminal-state.js'

const shared = sharedDaemon()
let workspace: string
let dir: string
const clients: LiveClient[] = []
const terms: Terminal[] = []

beforeAll(async () => {
  workspace = await makeWorkspace(shared.t)
  dir = mkdtempSync(join(tmpdir(), 'tabula-screen-first-'))
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  for (const term of terms) term.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const COLS = 100
const ROWS = 30
/** The daemon's own (`--scrollback` default), so a viewer's scrollback is trimmed where the daemon's is. */
const SCROLLBACK = 5_000

/**
 * 400 coloured lines of 150 characters (two rows each at 100 columns), then `MARK` and `ready`:
 * 27 rows of history lines stay on the screen, so its top row is the second half of a wrapped
 * line (the screen-only cut writes a stand-in row above it).
 */
function historyFile(): string {
  const path = join(dir, 'history.txt')
  const lines: string[] = []
  for (let i = 0; i < 400; i++)
    lines.push(`\x1b[3${i % 8}mline ${String(i).padStart(3, '0')}\x1b[0m ${'abcdefghij'.repeat(15)}`.slice(0, 160))
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

function liveClient(): LiveClient {
  const client = createLiveClient({
    daemonUrl: shared.t.daemonUrl,
    token: shared.t.token,
    viewer: { name: 'test', kind: 'web' },
    WebSocket,
  })
  clients.push(client)
  return client
}

function freshTerm(cols = COLS, rows = ROWS): Terminal {
  const term = new xtermHeadless.Terminal({ cols, rows, scrollback: SCROLLBACK, allowProposedApi: true, logLevel: 'off' })
  terms.push(term)
  return term
}

/**
 * An SDK viewer as the web viewer is one: every onBytes chunk written into xterm in order, and
 * resized as onSize says (after what it has written, so the test does not race its own parser).
 */
function sdkViewer(client: LiveClient, key: string, options?: AttachOptions) {
  const handle = client.attach(key, options)
  const term = freshTerm()
  const chunks: Uint8Array[] = []
  const sizes: SizeChange[] = []
  handle.onBytes((data) => {
    chunks.push(new Uint8Array(data))
    term.write(data)
  })
  handle.onSize((size) => {
    sizes.push(size)
    term.write('', () => (size.cols !== term.cols || size.rows !== term.rows) && term.resize(size.cols, size.rows))
  })
  return { handle, term, chunks, sizes }
}

/** A snapshot chunk (reset first) written into a fresh terminal of the session's size: its state. */
async function appliedAlone(chunk: Uint8Array, cols = COLS, rows = ROWS) {
  const term = freshTerm(cols, rows)
  term.write(chunk)
  await settle(term)
  return { state: terminalState(term), history: term.buffer.normal.baseY }
}

/** The state with the normal buffer's scrollback left out: what a screen-only snapshot shows. */
function onScreen(state: ReturnType<typeof terminalState>) {
  const { normal } = state
  return { ...state, normal: { ...normal, lines: normal.lines.slice(normal.ybase), ybase: 0 } }
}

const isSnapshot = (chunk: Uint8Array) => chunk[0] === 0x1b && chunk[1] === 0x63 // ESC c

let probe: LiveClient | null = null

/** The first chunk of a plain attach (the whole snapshot), once it holds `text`. */
function plainAttach(key: string, text: string): Promise<Uint8Array> {
  probe ??= liveClient()
  const client = probe
  return until(`a plain attach's snapshot to hold ${JSON.stringify(text)}`, async () => {
    const handle = client.attach(key)
    const chunk = await new Promise<Uint8Array>((resolve) => handle.onBytes((data) => resolve(new Uint8Array(data))))
    handle.dispose()
    return new TextDecoder().decode(chunk).includes(text) ? chunk : null
  })
}

describe('screen-first attach through the SDK', () => {
  it('sends the screen alone first, then the whole snapshot; the viewer ends as a plain attach', async () => {
    const file = historyFile()
    const session = await spawnSession(shared.t, workspace, {
      command: 'sh',
      args: ['-c', `cat ${file}; echo MARK; echo ready; exec cat`],
      cols: COLS,
      rows: ROWS,
    })
    const plain = await plainAttach(session.key, 'ready')
    const expected = await appliedAlone(plain)
    expect(expected.history, 'the session has history').toBeGreaterThan(700)
    expect(expected.state.normal.lines[expected.history]!.startsWith('W'), 'its top screen row continues a line').toBe(true)

    const viewer = sdkViewer(liveClient(), session.key, { screenFirst: true })
    await until('two snapshot chunks', () => viewer.chunks.filter(isSnapshot).length === 2)
    const [screen, whole] = viewer.chunks
    expect(viewer.chunks).toHaveLength(2)
    // The first: the screen without history, a fraction of the whole; alone in a fresh terminal it
    // shows what a plain attach shows, cursor and all, and no scrollback.
    expect(screen!.length).toBeLessThan(plain.length / 10)
    const first = await appliedAlone(screen!)
    expect(first.history).toBe(0)
    expect(first.state).toEqual(onScreen(expected.state))
    // The second is a plain attach's snapshot, byte for byte; the viewer that wrote both is one.
    expect(Buffer.from(whole!).equals(Buffer.from(plain))).toBe(true)
    await settle(viewer.term)
    expect(terminalState(viewer.term)).toEqual(expected.state)
    expect(viewer.term.buffer.normal.baseY).toBe(expected.history)
    // The size was told once: the history changed none (a view would claim or fit again).
    expect(viewer.sizes).toEqual([{ cols: COLS, rows: ROWS, activeViewer: null }])
  })

  it('keeps a hidden cursor, the alternate screen and its modes in the first chunk', async () => {
    const file = historyFile()
    const fullScreen = '\\033[?1049h\\033[?25l\\033[?1h\\033[2;20r\\033[5;3H\\033[1;44mfull-screen\\033[m\\033(0qqq\\033(B\\033[3g'
    const session = await spawnSession(shared.t, workspace, {
      command: 'sh',
      args: ['-c', `cat ${file}; printf '${fullScreen}'; echo; echo ready; exec cat`],
      cols: COLS,
      rows: ROWS,
    })
    const plain = await plainAttach(session.key, 'ready')
    const expected = await appliedAlone(plain)
    expect(expected.state.altActive).toBe(true)
    expect(expected.state.modes.cursorHidden).toBe(true)

    const viewer = sdkViewer(liveClient(), session.key, { screenFirst: true })
    await until('two snapshot chunks', () => viewer.chunks.filter(isSnapshot).length === 2)
    const first = await appliedAlone(viewer.chunks[0]!)
    expect(first.history).toBe(0)
    expect(first.state).toEqual(onScreen(expected.state))
    await settle(viewer.term)
    expect(terminalState(viewer.term)).toEqual(expected.state)
  })

  it('loses and repeats no output written between the two snapshots', async () => {
    // Numbered lines in bursts, for a while, then `done`: screen-first viewers attach meanwhile.
    const script = [
      'let n = 0',
      'const burst = () => {',
      "  let out = ''",
      '  for (let i = 0; i < 20; i++) out += "n " + String(++n).padStart(6, "0") + "\\n"',
      '  process.stdout.write(out)',
      "  if (n < 40000) setTimeout(burst, 1); else process.stdout.write('done\\n')",
      '}',
      'burst()',
      'setInterval(() => {}, 1 << 30)',
    ].join('\n')
    const session = await spawnSession(shared.t, workspace, { command: process.execPath, args: ['-e', script], cols: COLS, rows: ROWS })
    const client = liveClient()
    await plainAttach(session.key, 'n 001000')
    const viewers = [] as Array<ReturnType<typeof sdkViewer>>
    for (let i = 0; i < 3; i++) {
      const viewer = sdkViewer(client, session.key, { screenFirst: true })
      viewers.push(viewer)
      await until('its history', () => viewer.chunks.filter(isSnapshot).length >= 2)
    }
    const plain = await plainAttach(session.key, 'done')
    const expected = await appliedAlone(plain)
    let between = 0
    for (const viewer of viewers) {
      // Wait for the end of the stream: the viewer shows `done`.
      await until('the viewer to show done', async () => {
        await settle(viewer.term)
        const buffer = viewer.term.buffer.active
        for (let y = 0; y < buffer.length; y++) if (buffer.getLine(y)?.translateToString(true) === 'done') return true
        return false
      })
      const snapshots = viewer.chunks.map((chunk, i) => (isSnapshot(chunk) ? i : -1)).filter((i) => i >= 0)
      expect(snapshots[0], 'the screen first').toBe(0)
      expect(snapshots.length, 'and the history after it').toBeGreaterThanOrEqual(2)
      between += snapshots[1]! - 1
      expect(terminalState(viewer.term)).toEqual(expected.state)
      // Every line once, in order (the state above already says so; this says it readably).
      const buffer = viewer.term.buffer.normal
      const numbers: number[] = []
      for (let y = 0; y < buffer.length; y++) {
        const line = buffer.getLine(y)?.translateToString(true) ?? ''
        if (line.startsWith('n ')) numbers.push(Number(line.slice(2)))
      }
      expect(numbers.length).toBeGreaterThan(1000)
      expect(numbers.every((value, i) => i === 0 || value === numbers[i - 1]! + 1)).toBe(true)
    }
    // Not vacuous: output did go out live between the screen and its history.
    expect(between, 'output chunks between the two snapshots, over three attaches mid-flood').toBeGreaterThan(0)
  })
})

describe('screen-first attach on the wire', () => {
  const binary = async () => {
    const viewer = await RawViewer.open(shared.t.daemonUrl, shared.t.token)
    viewer.binarySnapshot = true
    shared.viewers.push(viewer)
    return viewer
  }
  const attachScreenFirst = async (viewer: RawViewer, ch: number, key: string): Promise<AttachedFrame> => {
    const from = viewer.mark
    viewer.send({ type: 'attach', ch, key, binarySnapshot: true, screenFirst: true })
    return viewer.next<AttachedFrame>((f) => f.type === 'attached' && f.ch === ch, from)
  }
  const ofChannel = (viewer: RawViewer, ch: number, from = 0) =>
    viewer.frames.slice(from).filter((f): f is ServerFrame & { ch: number } => 'ch' in f && f.ch === ch)

  it('sends no second snapshot when there is no history', async () => {
    const session = await spawnSession(shared.t, workspace, { command: 'sh', args: ['-c', 'echo hello; exec cat'], cols: COLS, rows: ROWS })
    const viewer = await binary()
    await viewer.attach(9, session.key)
    await viewer.waitForScreen(9, 'hello')
    const from = viewer.mark
    const attached = await attachScreenFirst(viewer, 1, session.key)
    // Asked after the first snapshot came: any second snapshot of channel 1 is cut once the first
    // was written to the socket, before this attach can arrive, so it would come first.
    const plain = await viewer.attach(2, session.key)
    expect(attached.snapshot).toBe(plain.snapshot)
    expect(ofChannel(viewer, 1, from).map((f) => f.type)).toEqual(['attached'])
  })

  it('answers a detach between the two with detached, and sends nothing after it', async () => {
    const file = historyFile()
    // The program stops inside an escape sequence (a hyperlink's OSC 8), so each cut waits
    // CUT_SETTLE_MS for its end: the detach, sent on the first snapshot, normally reaches the
    // daemon before the second. (Not a CSI: the daemon holds an unfinished one back, clamp.ts.)
    const session = await spawnSession(shared.t, workspace, {
      command: 'sh',
      args: ['-c', `cat ${file}; printf 'ready\\033]8;;https://unfinished.example/'; exec cat`],
      cols: COLS,
      rows: ROWS,
    })
    const viewer = await binary()
    await viewer.attach(9, session.key)
    await viewer.waitForScreen(9, 'ready')
    const from = viewer.mark
    await attachScreenFirst(viewer, 1, session.key)
    viewer.send({ type: 'detach', ch: 1 })
    await viewer.next((f) => f.type === 'detached' && f.ch === 1, from)
    // Cut after any second snapshot of channel 1 would have been: it would come before this.
    await viewer.attach(2, session.key)
    const frames = ofChannel(viewer, 1, from).map((f) => (f.type === 'resync' ? `resync ${(f as ResyncFrame).reason}` : f.type))
    // The detach came before the history, or after it: either way detached is the last frame.
    expect([
      ['attached', 'detached'],
      ['attached', 'resync history', 'detached'],
    ]).toContainEqual(frames)
    // The channel is free again and the socket serves on.
    const again = viewer.mark
    await attachScreenFirst(viewer, 1, session.key)
    await viewer.next((f) => f.type === 'resync' && f.ch === 1, again)
  })

  it('keeps frames in order around a resize before the history, and one after it', async () => {
    const file = historyFile()
    const session = await spawnSession(shared.t, workspace, {
      command: 'sh',
      args: ['-c', `cat ${file}; echo ready; exec cat`],
      cols: COLS,
      rows: ROWS,
    })
    const viewer = await binary()
    await viewer.attach(9, session.key)
    await viewer.waitForScreen(9, 'ready')
    viewer.send({ type: 'set_active', ch: 9, active: true })
    await viewer.next((f) => f.type === 'size' && f.ch === 9 && f.activeViewer === viewer.viewerId)

    // A resize sent right behind the attach (same socket, so in this order): the daemon takes it
    // while the screen is being cut, and sends the screen at the old size, the size frame, then
    // the history at the new size. On a loaded machine the test's own process can be put off the
    // CPU between its two sends long enough for the screen to go out and the history to be cut
    // first; then the history is the old size's and the size frame follows it. Either way the
    // history is exactly what a plain attach at its size gets.
    const plainOld = await viewer.attach(6, session.key)
    let from = viewer.mark
    viewer.send({ type: 'attach', ch: 1, key: session.key, binarySnapshot: true, screenFirst: true })
    viewer.send({ type: 'resize', ch: 9, cols: 90, rows: 25 })
    const history = await viewer.next<ResyncFrame>((f) => f.type === 'resync' && f.ch === 1, from)
    await viewer.next((f) => f.type === 'size' && f.ch === 1, from)
    const order = ofChannel(viewer, 1, from).map((f) => `${f.type} ${'cols' in f ? `${f.cols}x${f.rows}` : ''}`)
    expect(history.reason).toBe('history')
    if (order[1] === 'size 90x25') {
      expect(order).toEqual(['attached 100x30', 'size 90x25', 'resync 90x25'])
      expect(history.snapshot).toBe((await viewer.attach(2, session.key)).snapshot)
      expect(await viewer.screenText(1)).toBe(await viewer.screenText(2))
    } else {
      expect(order).toEqual(['attached 100x30', 'resync 100x30', 'size 90x25'])
      expect(history.snapshot).toBe(plainOld.snapshot)
      await viewer.next((f) => f.type === 'size' && f.ch === 6, from)
      expect(await viewer.screenText(1)).toBe(await viewer.screenText(6))
    }

    // A resize sent on the first snapshot: it reaches the daemon before the history is cut (the
    // size frame, then the history at the new size) or after (the history at the old size, then
    // the size frame). Either way each snapshot is the one a plain attach at its size gets.
    from = viewer.mark
    const plainBefore = await viewer.attach(3, session.key)
    const screen = await attachScreenFirst(viewer, 4, session.key)
    expect([screen.cols, screen.rows]).toEqual([90, 25])
    viewer.send({ type: 'resize', ch: 9, cols: 80, rows: 24 })
    await viewer.next((f) => f.type === 'size' && f.ch === 4, from)
    const whole = await viewer.next<ResyncFrame>((f) => f.type === 'resync' && f.ch === 4, from)
    const after = ofChannel(viewer, 4, from).map((f) => `${f.type} ${'cols' in f ? `${f.cols}x${f.rows}` : ''}`)
    if (after[1] === 'size 80x24') {
      expect(after).toEqual(['attached 90x25', 'size 80x24', 'resync 80x24'])
      expect(whole.snapshot).toBe((await viewer.attach(5, session.key)).snapshot)
    } else {
      expect(after).toEqual(['attached 90x25', 'resync 90x25', 'size 80x24'])
      expect(whole.snapshot).toBe(plainBefore.snapshot)
    }
  })

  it('refuses a screenFirst that is not a boolean, naming the field', async () => {
    const viewer = await binary()
    const from = viewer.mark
    viewer.sendRaw(JSON.stringify({ type: 'attach', ch: 1, key: 'tab-x', screenFirst: 'yes' }))
    const error = await viewer.next<Extract<ServerFrame, { type: 'error' }>>((f) => f.type === 'error', from)
    expect(error.code).toBe('invalid_frame')
    expect(error.message).toContain('screenFirst')
  })
})
