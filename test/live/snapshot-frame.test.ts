/**
 * The binary snapshot frame against the JSON snapshot of the same screen, on the real daemon (its
 * screen workers, real PTYs). The binary frame is put together from the stored history's UTF-8
 * bytes as they are (Snapshot.stored, docs/performance.md "Snapshots"), the JSON one from the
 * worker's whole text: two independent ways to the same snapshot, which must agree byte for byte,
 * and written into a fresh terminal give the terminal of plain xterm fed the same output.
 * Multi-byte characters (accents, CJK, emoji) sit in the stored rows, in xterm's own scrollback
 * tail and on the screen, so a place counted in characters rather than bytes would show.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import xtermHeadless, { type Terminal } from '@xterm/headless'
import type { WebSocket } from 'ws'
import { BINARY_SNAPSHOT, FULL_RESET, decodeBinaryFrame } from '@tabula/protocol'
import { RawViewer, makeWorkspace, sharedDaemon, spawnSession } from './helpers.js'
import { settle, terminalState } from '../screen/terminal-state.js'
import { until } from '../helpers/wait.js'
import { Attachment } from '../../daemon/src/live/attachment.js'
import { Mirror, type Snapshot } from '../../daemon/src/live/mirror.js'
import { Viewer } from '../../daemon/src/live/viewer.js'
import { localScreenHost } from '../../daemon/src/screen/screen-host.js'
import { withSharedRows } from '../../daemon/src/screen/history.js'

const shared = sharedDaemon()
let workspace: string
let dir: string
const terms: Terminal[] = []

beforeAll(async () => {
  workspace = await makeWorkspace(shared.t)
  dir = mkdtempSync(join(tmpdir(), 'tabula-snapshot-frame-'))
})
afterAll(() => {
  for (const term of terms) term.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const COLS = 80
const ROWS = 24
/** The daemon's default `--scrollback`: the viewer's terminal trims where the daemon's does. */
const SCROLLBACK = 5_000

function freshTerm(): Terminal {
  const term = new xtermHeadless.Terminal({ cols: COLS, rows: ROWS, scrollback: SCROLLBACK, allowProposedApi: true, logLevel: 'off' })
  terms.push(term)
  return term
}

/** 600 lines, far more than xterm's tail of 32 rows keeps: most are stored rows. */
function outputFile(): string {
  const path = join(dir, 'output.txt')
  const lines: string[] = []
  for (let i = 0; i < 600; i++) {
    const wide = i % 3 === 0 ? '漢字テキスト ' : i % 3 === 1 ? 'café déjà vu ' : '🙂 emoji 🚀 '
    // Some lines wrap (over 80 columns), so stored rows continue one another too.
    lines.push(`\x1b[3${i % 8}m${String(i).padStart(3, '0')}\x1b[0m ${wide.repeat(1 + (i % 7))}`)
  }
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

describe('the binary snapshot frame', () => {
  it('is byte for byte the JSON snapshot, and gives the terminal of plain xterm fed the same output', async () => {
    const file = outputFile()
    const session = await spawnSession(shared.t, workspace, {
      command: 'sh',
      args: ['-c', `cat ${file}; echo 'ready ✓ ü'; exec cat`],
      cols: COLS,
      rows: ROWS,
    })
    const binary = await RawViewer.open(shared.t.daemonUrl, shared.t.token)
    binary.binarySnapshot = true
    const json = await RawViewer.open(shared.t.daemonUrl, shared.t.token)
    shared.viewers.push(binary, json)
    await binary.attach(1, session.key)
    await binary.waitForScreen(1, 'ready ✓ ü')
    // The session is idle from here on: both cuts see the same screen.
    const from = binary.snapshotFrames.length
    await binary.attach(2, session.key)
    const frame = binary.snapshotFrames.slice(from).find((f) => f.ch === 2)!.data
    const { snapshot } = await json.attach(1, session.key)
    expect(Buffer.from(frame).equals(Buffer.from(FULL_RESET + snapshot, 'utf8'))).toBe(true)

    // The oracle: plain xterm fed what the PTY gave (its line discipline turns \n into \r\n).
    const oracle = freshTerm()
    oracle.write(readFileSync(file, 'utf8').replaceAll('\n', '\r\n') + 'ready ✓ ü\r\n')
    await settle(oracle)
    const viewer = freshTerm()
    viewer.write(frame)
    await settle(viewer)
    expect(viewer.buffer.normal.baseY, 'the history is there').toBeGreaterThan(600)
    expect(terminalState(viewer)).toEqual(terminalState(oracle))
  })
})

/** A socket that keeps what the daemon sends: JSON frames as text, binary frames as their bytes. */
function keptSocket() {
  const sent: Array<string | Buffer> = []
  const socket = {
    OPEN: 1,
    readyState: 1,
    send(payload: Buffer, opts: { binary: boolean }, cb: () => void) {
      sent.push(opts.binary ? Buffer.from(payload) : payload.toString('utf8'))
      setImmediate(cb)
    },
    close() {},
    terminate() {},
  }
  return { socket: socket as unknown as WebSocket, sent }
}

describe('the binary snapshot frame of a screen in the daemon’s own thread', () => {
  it('takes the stored rows by reference and is byte for byte the JSON snapshot', async () => {
    const host = localScreenHost()
    const mirror = new Mirror({ cols: 40, rows: 10, scrollback: 500, pty: { pause: () => {}, resume: () => {} }, host, onTitle: () => {} })
    const lines: string[] = []
    for (let i = 0; i < 200; i++) lines.push(`\x1b[3${i % 8}m${i}\x1b[0m ${i % 2 ? 'ünïcödé ' : '漢字 🙂 '}${'x'.repeat(i % 50)}\r\n`)
    mirror.write(new TextEncoder().encode(lines.join('') + 'end ✓'))
    mirror.flush()
    // The cut a binary attach asks for comes with its stored rows by reference, and put back in
    // its text they give the whole cut's text.
    const cut = (shareRows: boolean) => new Promise<Snapshot>((resolve) => mirror.cut(resolve, { shareRows }))
    const [shared, whole] = await Promise.all([cut(true), cut(false)])
    expect(shared.stored, 'the history was stored and shared').toBeTruthy()
    expect(whole.stored).toBeUndefined()
    expect(withSharedRows(shared.data, shared.stored!)).toBe(whole.data)

    const binary = keptSocket()
    const json = keptSocket()
    new Attachment(new Viewer('b', binary.socket), 3, 'tab-x', mirror, () => null, { binarySnapshot: true }).start()
    new Attachment(new Viewer('j', json.socket), 3, 'tab-x', mirror, () => null).start()
    await until('both snapshots sent', () => binary.sent.length >= 2 && json.sent.length >= 1)
    const frame = decodeBinaryFrame(binary.sent[1] as Buffer)!
    expect(frame.kind).toBe(BINARY_SNAPSHOT)
    expect(JSON.parse(binary.sent[0] as string).snapshotBytes).toBe(frame.data.length)
    const { snapshot } = JSON.parse(json.sent[0] as string) as { snapshot: string }
    expect(Buffer.from(frame.data).equals(Buffer.from(FULL_RESET + snapshot, 'utf8'))).toBe(true)
    expect(snapshot).toBe(whole.data)
    mirror.dispose()
    await host.close()
  })
})
