/**
 * A screen worker: the headless screens of some sessions, parsed off the daemon's main thread
 * (see screen-host.ts for why). It only answers messages, in order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { clampTitle } from '@tabula/protocol'
import { HeadlessScreen, type SharedSnapshot, type Snapshot } from './screen.js'
import { writeInPieces, type FromWorker, type ToWorker } from './screen-host.js'
import { ParseScheduler } from './parse-scheduler.js'
import { collectWhenIdle } from './idle-collect.js'

const port = parentPort!
const screens = new Map<number, HeadlessScreen>()

/**
 * The watchdog's beacon (shared memory, read by the main thread while this one may be blocked):
 * [0] is the id of the screen whose work is under way (0: none), [1] counts every start and end
 * of a screen's work. HeadlessScreen does its work in `work()`, one slice per turn of the event
 * loop; it is wrapped here so screen.ts stays free of thread concerns.
 */
const beacon = (workerData as { beacon?: Int32Array } | null)?.beacon ?? new Int32Array(2)
const ids = new WeakMap<object, number>()
const proto = HeadlessScreen.prototype as unknown as { work?: (this: HeadlessScreen) => void }
const work = proto.work
if (typeof work !== 'function') throw new Error('HeadlessScreen has no work(): the watchdog cannot see this worker')

/**
 * Lines of text parsed once at start, in a screen thrown away, before any session's: V8 compiles
 * the parser on its first use, which made a fresh worker's first pieces of text cost up to 16
 * times what they cost warm, so the parse scheduler weighed a text flood as costly output
 * (parse-scheduler.ts). Tens of ms, once per worker.
 */
export const WARM_UP_LINES = 4000
function warmUp(): void {
  const screen = new HeadlessScreen({ cols: 80, rows: 24, scrollback: 1000, noFastForward: true }, () => {})
  let done = false
  const text = Array.from({ length: WARM_UP_LINES }, (_, i) =>
    i % 2 ? `line ${i}\r\n` : `\x1b[3${i % 8}mline ${i}\x1b[0m of text to warm the parser up\r\n`,
  ).join('')
  writeInPieces(new TextEncoder().encode(text), (piece) => screen.write(piece, () => {}))
  screen.cut(() => (done = true))
  while (!done) work!.call(screen)
  screen.dispose()
}
// A worker is idle most of the time, after bursts of output (idle-collect.ts); watched from
// before its warm-up, which is its first burst.
collectWhenIdle()
warmUp()
/**
 * Which screen parses when (parse-scheduler.ts): fair among the screens with work waiting,
 * charged by measured parse time weighted by cost per byte, costly output capped even alone. A
 * screen's work() only wakes the scheduler, which runs the real one when its turn comes.
 */
const scheduler = new ParseScheduler<ScreenTask>()
interface ScreenTask {
  run(): number
  urgent(): boolean
}
const tasks = new WeakMap<HeadlessScreen, ScreenTask>()
/** Bytes credited since the scheduler's current slice began (the cost signal). */
let credited = 0

function taskOf(screen: HeadlessScreen): ScreenTask {
  let task = tasks.get(screen)
  if (!task) {
    task = {
      run() {
        const before = credited
        Atomics.store(beacon, 0, ids.get(screen) ?? -1)
        Atomics.add(beacon, 1, 1)
        try {
          work!.call(screen)
        } finally {
          Atomics.store(beacon, 0, 0)
          Atomics.add(beacon, 1, 1)
        }
        return credited - before
      },
      urgent: () => waitsForViewer(screen),
    }
    tasks.set(screen, task)
  }
  return task
}

/** Checkpoint cuts (the host's, for recovery): no viewer waits for them. */
const background = new WeakSet<object>()

/** True when the screen's queue holds a viewer's cut or a resize (HeadlessScreen keeps them in `steps`). */
function waitsForViewer(screen: HeadlessScreen): boolean {
  const steps = (screen as unknown as { steps?: { op: string; ready?: object }[] }).steps
  return steps?.some((step) => step.op === 'resize' || (step.op === 'cut' && !(step.ready && background.has(step.ready)))) ?? false
}
proto.work = function (this: HeadlessScreen) {
  scheduler.wake(taskOf(this))
}

/**
 * Parsed credit is summed per screen and sent once per turn of the event loop rather than once
 * per chunk: a flood of 4 KB reads would otherwise cost a message back for every read.
 */
const credit = new Map<number, number>()
let flushing = false

function addCredit(id: number, size: number): void {
  credited += size
  credit.set(id, (credit.get(id) ?? 0) + size)
  if (flushing) return
  flushing = true
  setImmediate(() => {
    flushing = false
    for (const [id, size] of credit) {
      const screen = screens.get(id)
      send({ op: 'parsed', id, size, weight: screen ? scheduler.weight(taskOf(screen)) : 1 })
    }
    credit.clear()
  })
}

function send(message: FromWorker): void {
  port.postMessage(message)
}

port.on('message', (message: ToWorker) => {
  const { id } = message
  switch (message.op) {
    case 'open': {
      // Cut before it crosses threads: a program's title can be megabytes (MAX_TITLE_CHARS).
      const screen: HeadlessScreen = new HeadlessScreen(
        message.opts,
        (title) => send({ op: 'title', id, title: clampTitle(title) }),
        // xterm threw in this screen: it is gone (see HeadlessScreen's onFail); the host opens it
        // again. Credit for what it parsed goes first, so the host knows what it still owes.
        (err) => {
          if (screens.get(id) !== screen) return
          screens.delete(id)
          const owed = credit.get(id)
          credit.delete(id)
          if (owed) send({ op: 'parsed', id, size: owed })
          send({ op: 'failed', id, error: err instanceof Error ? err.message : String(err) })
        },
      )
      ids.set(screen, id)
      screens.set(id, screen)
      return
    }
    case 'write': {
      const screen = screens.get(id)
      if (screen) writeInPieces(message.data, (piece) => screen.write(piece, () => addCredit(id, piece.length)))
      return
    }
    case 'cut': {
      const { cut, kind } = message
      // A save or a checkpoint waits its turn: cut as soon as it jumped the queue, it would let a
      // screen held back by its cost parse its whole backlog at every one, past its share.
      if (kind === 'checkpoint') {
        // It refers to the stored rows (they stay shared with the host, not copied).
        const ready = (checkpoint: SharedSnapshot) => send({ op: 'checkpoint', id, cut, checkpoint })
        background.add(ready)
        screens.get(id)?.cutShared(ready)
        return
      }
      const ready = (snapshot: Snapshot) => send({ op: 'snapshot', id, cut, snapshot })
      if (kind === 'save') background.add(ready)
      // A viewer's cut that is written out as bytes gets the stored rows by reference
      // (Snapshot.stored): they are neither decoded nor copied on their way to the socket.
      if (message.shareRows) screens.get(id)?.cutShared(ready, kind === 'screen')
      else screens.get(id)?.cut(ready, kind === 'screen')
      return
    }
    case 'resize':
      screens.get(id)?.resize(message.cols, message.rows)
      return
    case 'dispose': {
      const screen = screens.get(id)
      if (screen) {
        screen.dispose()
        scheduler.drop(taskOf(screen))
      }
      screens.delete(id)
      credit.delete(id)
      return
    }
  }
})
