/**
 * The parse scheduler of a screen worker (daemon/src/screen/parse-scheduler.ts, docs/daemon.md
 * "Hostile output"): its shares on a fake clock, where each slice takes the time its task says
 * (how fast this machine parses is not the question), and the real worker of the build: costly
 * output is still parsed beside a text flood and answers a cut, and pauses its PTY early.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SCREEN_COST_WEIGHT_MAX } from '@tabula/protocol'
import { ParseScheduler, type SchedulerLoop, type Task } from '../../daemon/src/screen/parse-scheduler.js'
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

/**
 * A virtual event loop for the scheduler: time moves only when a slice says it took time, or when
 * the loop waits for a timer because nothing else is due.
 */
function virtualLoop(): SchedulerLoop & { time: number; spend(ms: number): void; step(): boolean; runAll(): void } {
  const immediates: (() => void)[] = []
  let timers: { at: number; fn: () => void; id: number }[] = []
  let ids = 0
  const loop = {
    time: 0,
    now: () => loop.time,
    spend: (ms: number) => void (loop.time += ms),
    immediate: (fn: () => void) => void immediates.push(fn),
    timeout: (fn: () => void, ms: number) => {
      timers.push({ at: loop.time + ms, fn, id: ++ids })
      return ids
    },
    clear: (id: unknown) => void (timers = timers.filter((t) => t.id !== id)),
    /** One turn: the next immediate, else the next timer. False when nothing is left. */
    step: () => {
      const next = immediates.shift()
      if (next) next()
      else if (timers.length > 0) {
        timers.sort((a, b) => a.at - b.at)
        const timer = timers.shift()!
        loop.time = Math.max(loop.time, timer.at)
        timer.fn()
      } else return false
      return true
    },
    runAll: () => {
      while (loop.step()) {}
    },
  }
  return loop
}

describe('the parse scheduler, on a virtual clock: each slice takes the time its task says', () => {
  /** A screen with `slices` pieces of `bytes` waiting, each taking `ms` to parse; it logs each slice. */
  function screen(
    loop: ReturnType<typeof virtualLoop>,
    scheduler: ParseScheduler<Task>,
    name: string,
    slices: number,
    ms: number,
    bytes: number,
    log: string[],
  ) {
    const task = {
      slices,
      left: slices,
      busyMs: 0,
      wantsCut: false,
      urgent: () => task.wantsCut,
      run: () => {
        loop.spend(ms)
        task.busyMs += ms
        task.left--
        task.wantsCut = false
        log.push(name)
        if (task.left > 0) scheduler.wake(task)
        return bytes
      },
    }
    return task
  }

  it('a text flood beside costly output gets nearly the whole worker; the costly screen is slowed, not starved', () => {
    const loop = virtualLoop()
    const scheduler = new ParseScheduler<Task>(loop)
    const log: string[] = []
    // 8 KB of text in 1 ms (about 120 ms/MiB: weight 1); 2 KB of huge-count sequences in 16 ms (weight 16).
    const costly = screen(loop, scheduler, 'costly', 40, 16, 2048, log)
    const text = screen(loop, scheduler, 'text', 400, 1, 8192, log)
    scheduler.wake(costly)
    scheduler.wake(text)
    loop.runAll()
    expect(text.left).toBe(0)
    expect(costly.left).toBe(0) // it finished: slowed, never starved
    // While the text waited, the costly screen ran only within its burst and its share (its
    // weight grows from text's to 16 over its first slices): a handful of its 40 slices. A
    // round-robin share would have interleaved the two and given it all 40.
    const textDone = log.lastIndexOf('text')
    const costlyWhileText = log.slice(0, textDone).filter((n) => n === 'costly').length
    expect(costlyWhileText, log.join(' ')).toBeLessThanOrEqual(costly.slices / 5)
  })

  it('costly output alone is capped at 1/weight of the worker; text alone is never held', () => {
    const loop = virtualLoop()
    const scheduler = new ParseScheduler<Task>(loop)
    const log: string[] = []
    const costly = screen(loop, scheduler, 'costly', 60, 16, 2048, log)
    const start = loop.time
    scheduler.wake(costly)
    loop.runAll()
    const wall = loop.time - start
    // 60 slices of 16 ms = 960 ms of parsing; at weight 16 that needs about 16 times as much wall time.
    expect(costly.busyMs / wall).toBeLessThan(2 / SCREEN_COST_WEIGHT_MAX)

    const text = screen(loop, scheduler, 'text', 400, 1, 8192, log)
    const textStart = loop.time
    scheduler.wake(text)
    loop.runAll()
    expect(loop.time - textStart).toBe(400) // no wait between its slices
  })

  it('a viewer waiting (a cut) runs first, past the cap', () => {
    const loop = virtualLoop()
    const scheduler = new ParseScheduler<Task>(loop)
    const log: string[] = []
    const costly = screen(loop, scheduler, 'costly', 20, 16, 2048, log)
    const text = screen(loop, scheduler, 'text', 200, 1, 8192, log)
    scheduler.wake(costly)
    scheduler.wake(text)
    for (let turn = 0; turn < 20; turn++) loop.step() // the costly screen's first slice, then text
    expect(log.slice(-10)).toEqual(Array(10).fill('text'))
    costly.wantsCut = true // a viewer attaches to it: its cut is queued
    scheduler.wake(costly)
    loop.step()
    expect(log.at(-1)).toBe('costly')
  })
})

it('in the real worker, a screen fed costly sequences keeps being parsed beside a text flood, and answers a cut', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  // Every byte parsed (fast-forward would skip most of the text and leave the worker idle).
  host = workerScreenHost({ script: WORKER, workers: 1, fastForward: false })
  const { open, write, flood } = screens(host)
  await flood('warm-up')
  const costly = open('costly')
  write(costly.port, COSTLY) // seconds of parsing, queued at once
  await until('the costly screen has started', () => costly.credit.bytes > 0, 30_000)
  await flood('beside')
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

it('a save (a background cut) of costly output leaves it capped; a viewer’s cut lifts the cap', async () => {
  expect(existsSync(WORKER), `${WORKER} (run npm run build)`).toBe(true)
  host = workerScreenHost({ script: WORKER, workers: 1, fastForward: false })
  const { open, write, flood } = screens(host)
  await flood('warm-up')
  /** Which finishes first: the costly screen's cut, or a text flood started right after it. */
  const race = async (name: string, background: boolean) => {
    const costly = open(name)
    write(costly.port, COSTLY.subarray(0, COSTLY.length / 16))
    await until(`${name} has started`, () => costly.credit.bytes > 0, 30_000)
    const order: string[] = []
    const cut = new Promise<void>((resolve) => costly.port.cut(() => resolve(void order.push('cut')), { background }))
    await flood(`${name} beside`)
    order.push('text')
    await cut
    costly.port.dispose()
    return order
  }
  // The keeper's save waits its turn at the costly screen's share: the text flood goes first.
  expect(await race('saved', true)).toEqual(['text', 'cut'])
  // A viewer waiting is served first, past the cap.
  expect(await race('attached', false)).toEqual(['cut', 'text'])
}, 120_000)
