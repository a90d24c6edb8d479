/**
 * A screen worker: the headless screens of some sessions, parsed off the daemon's main thread
 * (see screen-host.ts for why). It only answers messages, in order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { clampTitle } from '@tabula/protocol'
import { HeadlessScreen } from './screen.js'
import { SCREEN_PARSE_BURST_MS, SCREEN_PARSE_SHARE, writeInPieces, type FromWorker, type ToWorker } from './screen-host.js'

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
 * Each screen's share of this thread (SCREEN_PARSE_SHARE): a token bucket of parse time, filled
 * at that share of wall time up to SCREEN_PARSE_BURST_MS. A screen that has spent its tokens
 * waits until it has some again; with the PTY paced by parse credit (mirror.ts), its program is
 * slowed with it. Output that costs far more to parse than to print cannot take the thread, and
 * the cores, from the other sessions.
 */
const buckets = new WeakMap<object, { tokens: number; at: number }>()

/** True when the screen's queue holds a cut or a resize (HeadlessScreen keeps them in `steps`). */
function waitsForViewer(screen: HeadlessScreen): boolean {
  const steps = (screen as unknown as { steps?: { op: string }[] }).steps
  return steps?.some((step) => step.op !== 'write') ?? false
}
proto.work = function (this: HeadlessScreen) {
  const now = performance.now()
  let bucket = buckets.get(this)
  if (!bucket) buckets.set(this, (bucket = { tokens: SCREEN_PARSE_BURST_MS, at: now }))
  bucket.tokens = Math.min(SCREEN_PARSE_BURST_MS, bucket.tokens + (now - bucket.at) * SCREEN_PARSE_SHARE)
  bucket.at = now
  // A snapshot cut (an attach, a resync) or a resize waiting in the queue is never held back:
  // the share paces a flood, not a viewer waiting for its screen.
  if (bucket.tokens < 0 && !waitsForViewer(this)) {
    setTimeout(() => proto.work!.call(this), Math.ceil(-bucket.tokens / SCREEN_PARSE_SHARE))
    return
  }
  Atomics.store(beacon, 0, ids.get(this) ?? -1)
  Atomics.add(beacon, 1, 1)
  try {
    work.call(this)
  } finally {
    Atomics.store(beacon, 0, 0)
    Atomics.add(beacon, 1, 1)
    const end = performance.now()
    bucket.tokens -= end - now
    bucket.at = end
  }
}

/**
 * Parsed credit is summed per screen and sent once per turn of the event loop rather than once
 * per chunk: a flood of 4 KB reads would otherwise cost a message back for every read.
 */
const credit = new Map<number, number>()
let flushing = false

function addCredit(id: number, size: number): void {
  credit.set(id, (credit.get(id) ?? 0) + size)
  if (flushing) return
  flushing = true
  setImmediate(() => {
    flushing = false
    for (const [id, size] of credit) send({ op: 'parsed', id, size })
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
    case 'cut':
      screens.get(id)?.cut((snapshot) => send({ op: 'snapshot', id, cut: message.cut, snapshot }))
      return
    case 'resize':
      screens.get(id)?.resize(message.cols, message.rows)
      return
    case 'dispose':
      screens.get(id)?.dispose()
      screens.delete(id)
      credit.delete(id)
      return
  }
})
