/**
 * The parse scheduler of a screen worker (daemon/src/screen/parse-scheduler.ts, docs/daemon.md
 * "Hostile output"), with the real worker of the build: a screen whose output is costly to
 * parse does not hold back a text flood in the same worker, and is itself still parsed.
 */
import { afterEach, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FLOW_HIGH_WATERMARK, Mirror } from '../../daemon/src/live/mirror.js'
import { workerScreenHost, type ScreenPort, type WorkerScreenHost } from '../../daemon/src/screen/screen-host.js'
import { until } from '../helpers/wait.js'

const WORKER = fileURLToPath(new URL('../../daemon/dist/screen/screen-worker.js', import.meta.url))

let host: WorkerScreenHost | null = null
afterEach(async () => {
  await host?.close()
  host = null
})

/** 80×24: `CSI 1920 b` repeats the last character over the whole screen (the clamp's own bound). */
const COSTLY = Buffer.from('x\x1b[1920b'.repeat(20_000))
const TEXT = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `line ${i} of plain text output\r\n`).join(''))

function screens(h: WorkerScreenHost) {
  const open = (name: string) => {
    const credit = { bytes: 0 }
    const port = h.open({ cols: 80, rows: 24, scrollback: 1000 }, { parsed: (n) => (credit.bytes += n), title: () => {} }, `tab-${name}`)
    return { port, credit }
  }
  const write = (port: ScreenPort, data: Buffer) => {
    for (let at = 0; at < data.length; at += 64 * 1024) port.write(data.subarray(at, at + 64 * 1024))
  }
  /** How long a fresh screen takes to parse the whole text flood (ms). */
  const flood = async (name: string) => {
    const text = open(name)
    const start = performance.now()
    write(text.port, TEXT)
    await until(`${name} parsed`, () => text.credit.bytes === TEXT.length, { timeoutMs: 30_000, intervalMs: 2 })
    return performance.now() - start
  }
  return { open, write, flood }
}

it('a text flood beside a screen fed costly sequences, in one worker: the text is not held back to the costly pace', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  // Every byte parsed (fast-forward would skip most of the text and leave the worker idle).
  host = workerScreenHost({ script: WORKER, workers: 1, fastForward: false })
  const { open, write, flood } = screens(host)
  await flood('warm-up') // the worker's code compiled, as in a daemon that has run a while
  const before = await flood('alone-before')

  const costly = open('costly')
  write(costly.port, COSTLY) // seconds of parsing, queued at once
  await until('the costly screen has started', () => costly.credit.bytes > 0, 30_000)
  const beside = await flood('beside')
  const after = await flood('alone-after')
  const alone = Math.max(before, after)
  // Fair shares weighted by cost: the text gets nearly the whole worker while both wait. Before,
  // the costly screen took a slice every turn (a 2 KB piece of it is tens of ms) and a quarter
  // of the worker past its burst: the text took 1.4–2.4× as long as alone.
  expect(beside, `text flood: ${beside.toFixed(0)} ms beside the costly screen, ${alone.toFixed(0)} ms alone`).toBeLessThan(1.2 * alone)

  // The costly screen is slowed, not starved: it keeps being parsed while nothing else waits,
  // and a cut (what an attach waits for) is answered past its cap.
  const parsed = costly.credit.bytes
  await until('the costly screen progresses', () => costly.credit.bytes > parsed, 30_000)
  const snapshot = await new Promise<string>((resolve) => costly.port.cut((s) => resolve(s.data)))
  expect(snapshot).toContain('xxxxxxxx')
}, 60_000)

it('costly output pauses its PTY after a fraction of the backlog text may have: the program blocks, the daemon does not buffer', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  host = workerScreenHost({ script: WORKER, workers: 1, fastForward: false })
  // The PTY is the edge: the mirror only calls pause() and resume() on it.
  const pty = { paused: false, pause: () => void (pty.paused = true), resume: () => void (pty.paused = false) }
  const mirror = new Mirror({ cols: 80, rows: 24, scrollback: 1000, pty, host, onTitle: () => {} })
  await new Promise((resolve) => mirror.cut(resolve)) // the worker is up
  const piece = Buffer.from('x\x1b[1920b'.repeat(8 * 1024)) // 64 KiB, as a PTY read would bring it
  // Its first 16 KiB: once their parse credit is back, the mirror knows what this output costs.
  const first = piece.subarray(0, 16 * 1024)
  mirror.write(first)
  mirror.flush()
  await until('the first credit', () => mirror.backlog === 0, 30_000)
  let written = first.length
  // As a program that writes whenever its terminal takes more: until the PTY is paused.
  while (!pty.paused && written < 2 * FLOW_HIGH_WATERMARK) {
    mirror.write(piece)
    written += piece.length
    mirror.flush()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  expect(pty.paused).toBe(true)
  // Text may queue up to FLOW_HIGH_WATERMARK (4 MiB) unparsed; output of the greatest weight a 16th of it.
  expect(mirror.backlog, `paused with ${mirror.backlog} bytes unparsed`).toBeLessThanOrEqual(FLOW_HIGH_WATERMARK / 8)
  mirror.dispose()
}, 60_000)
