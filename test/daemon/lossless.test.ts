/**
 * Every byte a program writes before it exits reaches an attached viewer and the daemon's screen,
 * before any viewer is told it exited (docs/daemon.md "The PTY layer"). A program writes
 * a file and exits at once, at 20 KB, 300 KB, 5 MB and 50 MB: the attached viewer's bytes must
 * match the file exactly (by checksum), and a viewer attaching after the exit must find the file's
 * last lines and the program's final line on the daemon's screen.
 *
 * `npm test` runs a few runs per size. `npm run soak` runs the full matrix (100 runs at every
 * size, a few minutes; its figures are in docs/daemon.md).
 */
import { soakable } from '../helpers/soak.js'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerFrame } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { RawViewer, closeSession, makeWorkspace, spawnSession } from '../live/helpers.js'

/** Runs at every size under `npm run soak`. */
const SOAK_RUNS = 100
/** [bytes, runs in npm test]: many where a run is cheap, one at 50 MB. */
const MATRIX: [number, number][] = [
  [20 * 1024, 12],
  [300 * 1024, 6],
  [5 * 1024 * 1024, 2],
  [50 * 1024 * 1024, 1],
]
const COLS = 200
const ROWS = 50
/** Lines of the file's end that the late viewer's screen must show, in order. */
const TAIL_LINES = 40

let t: RunningTabula
let workspace: string
let dir: string
const viewers: RawViewer[] = []

beforeAll(async () => {
  t = await startTabula(['daemon', '--no-restore'])
  workspace = await makeWorkspace(t)
  dir = mkdtempSync(join(tmpdir(), 'tabula-lossless-'))
})

afterAll(async () => {
  for (const v of viewers) v.close()
  await t?.stop()
  if (t) removeHome(t.home)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** `size` bytes of numbered lines (100 columns), the last one cut short: no line fits twice. */
function makeFile(size: number): { path: string; text: string } {
  const line = (i: number) => `${String(i).padStart(9, '0')} ${'the quick brown fox jumps over the lazy dog '.repeat(2)}end\n`
  const parts: string[] = []
  for (let i = 0, n = 0; n < size; i++) {
    parts.push(line(i))
    n += line(i).length
  }
  const text = parts.join('').slice(0, size)
  const path = join(dir, `out-${size}.txt`)
  writeFileSync(path, text)
  return { path, text }
}

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

/**
 * One run: the program waits for a line of input (so the viewer is attached before its first
 * byte), writes the file and a final line naming the file's checksum, and exits.
 */
async function writeAndExit(file: { path: string; text: string }) {
  const fileSha = sha(file.text)
  const session = await spawnSession(t, workspace, {
    command: '/bin/sh',
    args: ['-c', `read go; cat '${file.path}'; printf '\\nEND %s\\n' ${fileSha}`],
    cols: COLS,
    rows: ROWS,
  })
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  viewer.keepRaw = false
  const received = createHash('sha256')
  let bytes = 0
  let bytesAtExit = -1
  let resyncs = 0
  // The tty turns LF into CR LF; dropping every CR gives back exactly what the program wrote
  // (the file holds none).
  viewer.onOutput = (_ch, data) => {
    bytes += data.length
    received.update(Buffer.from(data).toString('latin1').replaceAll('\r', ''), 'latin1')
  }
  // Registered after the viewer's own listener, so it runs once that one has counted.
  viewer.socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return
    const frame = JSON.parse(data.toString('utf8')) as ServerFrame
    if (frame.type === 'exit') bytesAtExit = bytes
    if (frame.type === 'resync') resyncs++
  })
  await viewer.attach(1, session.key)
  viewer.send({ type: 'input', ch: 1, data: 'go\n' })
  await viewer.next((f) => f.type === 'exit' && f.ch === 1, 0, 120_000)

  // The echo of the typed line, the file, the final line: in full, before the exit.
  const expected = `go\n${file.text}\nEND ${fileSha}\n`
  expect(resyncs, 'the viewer was resynced (it fell behind), so bytes were skipped by design').toBe(0)
  expect(bytesAtExit).toBe(bytes)
  expect(received.digest('hex')).toBe(sha(expected))

  // A viewer arriving after the exit reads the daemon's own screen.
  const late = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(late)
  await late.attach(1, session.key)
  const screen = (await late.screenText(1)).split('\n')
  const fileLines = file.text.split('\n')
  const tail = [...fileLines.slice(-TAIL_LINES), `END ${fileSha}`]
  expect(screen.slice(-tail.length)).toEqual(tail)

  viewer.close()
  late.close()
  viewers.length = 0
  expect(await closeSession(t, workspace, session.key)).toBe(200)
}

describe('write and exit: every byte reaches the viewer and the screen before the exit', () => {
  for (const [size, runs] of MATRIX) {
    const count = soakable(runs, SOAK_RUNS)
    it(`${size.toLocaleString('en')} bytes, ${count} run(s)`, {
      timeout: 60_000 + count * (size > 10_000_000 ? 30_000 : 5_000),
    }, async () => {
      const file = makeFile(size)
      for (let run = 0; run < count; run++) await writeAndExit(file)
    })
  }
})
