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
import { FULL_RESET } from '@tabula/protocol'
import { RawViewer, makeWorkspace, sharedDaemon, spawnSession } from './helpers.js'
import { settle, terminalState } from '../screen/terminal-state.js'

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
