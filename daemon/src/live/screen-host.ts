/**
 * Where the headless screens run. Parsing is the most expensive step of a flood, and on the
 * daemon's main thread it alternates with reading the PTY: while the parser works, nobody reads,
 * the PTY's small kernel buffer fills and the program stalls. Worker threads parse while the
 * main thread keeps reading and fanning out, so a flood runs at the rate of the slower of the two
 * instead of their sum. Messages to a worker keep their order, so the snapshot cut is exactly
 * as precise as in-process. Screens are spread over a small pool (SCREEN_WORKERS) watched by a
 * watchdog: a worker that dies or is stuck in one screen is replaced, and only the screens it
 * held start fresh (see failSlot in workerScreenHost); history is lost there, nothing hangs.
 * When no worker can start (e.g. running from TypeScript sources in a test), the same screens
 * run in-process. See docs/daemon.md ("Hostile output").
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { HeadlessScreen, type ScreenOptions, type Snapshot } from './screen.js'

/** One screen as its mirror sees it: write, cut, resize, dispose; parsed credit and titles come back. */
export interface ScreenPort {
  /** Output bytes, in order; the port copies what it needs to keep (the caller shares `data`). */
  write(data: Uint8Array): void
  cut(ready: (snapshot: Snapshot) => void): void
  resize(cols: number, rows: number): void
  dispose(): void
}

export interface ScreenEvents {
  /** `size` bytes written earlier have been parsed (flow-control credit). */
  parsed(size: number): void
  title(title: string): void
}

export interface ScreenHost {
  /** `label` names the session in messages about it (its key). */
  open(opts: ScreenOptions, events: ScreenEvents, label?: string): ScreenPort
  close(): Promise<void>
}

/** A worker-backed host; its workers (none when running in-process) are exposed for tests. */
export interface WorkerScreenHost extends ScreenHost {
  /** The first worker of the pool. */
  readonly worker: Worker | null
  readonly workers: readonly Worker[]
}

// ── messages (main ⇄ worker) ─────────────────────────────────────────────────────────────────

export type ToWorker =
  | { op: 'open'; id: number; opts: ScreenOptions }
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'cut'; id: number; cut: number }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'dispose'; id: number }

export type FromWorker =
  | { op: 'parsed'; id: number; size: number }
  | { op: 'title'; id: number; title: string }
  | { op: 'snapshot'; id: number; cut: number; snapshot: Snapshot }

export interface ScreenHostOptions {
  /** False: parse every byte (ScreenOptions.noFastForward for every screen). Default true. */
  fastForward?: boolean
}

/** Screens in this thread: simple, and what tests running from sources get. */
export function localScreenHost(host: ScreenHostOptions = {}): ScreenHost {
  return {
    open(opts, events) {
      const screen = new HeadlessScreen(screenOptions(opts, host), (title) => events.title(title))
      return {
        write: (data) => writeInPieces(data, (piece) => screen.write(piece, () => events.parsed(piece.length))),
        cut: (ready) => screen.cut(ready),
        resize: (cols, rows) => screen.resize(cols, rows),
        dispose: () => screen.dispose(),
      }
    },
    close: async () => {},
  }
}

/**
 * How many worker threads parse screens. Each screen lives in one of them (the one with the
 * fewest screens when it opens), so a session whose output is expensive to parse shares its
 * thread with a fraction of the others, and a stuck thread (see SCREEN_STUCK_MS) takes only its
 * own screens down. Two is what a 2-core machine can run beside the daemon's main thread; more
 * would only compete for the same cores.
 */
export const SCREEN_WORKERS = Math.max(2, Math.min(4, availableParallelism() - 1))

/**
 * A worker busy with one screen's work for this long without returning is stuck (an endless
 * parse): it is ended and replaced. No legitimate parse comes close: output is parsed in pieces
 * of PARSE_PIECE_BYTES whose counts are clamped to the screen (clamp.ts), at most a second or two
 * of work each at the largest screen.
 */
export const SCREEN_STUCK_MS = 10_000
/** How often the watchdog looks at the workers. */
export const WATCHDOG_INTERVAL_MS = 1_000
/** Restarts of one worker slot after which its screens stay in-process (a loop of failures). */
export const MAX_WORKER_RESTARTS = 5
/**
 * Output is handed to a screen in pieces of at most this size, so a screen yields between pieces
 * (see PUMP_SLICE_MS in screen.ts) and one session's big chunk does not hold the thread from the
 * others' cuts and output for the whole chunk. Clamped counts still cost work per byte (a 2 KB
 * piece of `CSI 1920 b` repeats 350,000 cells, some 40 ms): 2 KB bounds a piece to tens of ms;
 * 16 KB let one piece of such output hold the thread for a third of a second.
 */
export const PARSE_PIECE_BYTES = 2 * 1024

/**
 * The share of a worker thread one screen may parse for over time, and the burst it may spend
 * at once (the token bucket in screen-worker.ts). Measured with bench/soak.bench.mjs (a hostile
 * session beside 8 flooding ones, docs/performance.md): without a share the ordinary sessions
 * ran at 0.16–0.45× of their speed alone, at half a thread 0.31×, at a quarter 0.98×. A quarter
 * of a thread still parses a plain flood at tens of MB/s, most of which fast-forward skips.
 */
export const SCREEN_PARSE_SHARE = 0.25
export const SCREEN_PARSE_BURST_MS = 250


export interface WorkerHostOptions extends ScreenHostOptions {
  /** The built worker (tests). */
  script?: string
  /** Number of worker threads (SCREEN_WORKERS). */
  workers?: number
  /** Stuck bound (SCREEN_STUCK_MS); tests use a shorter one. */
  stuckMs?: number
  /** Where failures are reported; stderr by default. */
  warn?: (message: string) => void
}

/**
 * Screens in a small pool of worker threads; each falls back to in-process when no compiled
 * worker exists, or when its slot failed too often. `script` lets tests run the built worker.
 */
export function workerScreenHost(opts: WorkerHostOptions = {}): WorkerScreenHost {
  const script = opts.script ?? fileURLToPath(new URL('./screen-worker.js', import.meta.url))
  if (!existsSync(script)) return { ...localScreenHost(opts), worker: null, workers: [] }
  const warn = opts.warn ?? ((message: string) => void process.stderr.write(`tabula: ${message}\n`))
  const stuckMs = opts.stuckMs ?? SCREEN_STUCK_MS
  const local = localScreenHost(opts)
  const screens = new Map<number, WorkerScreen>()
  let nextId = 1
  let nextCut = 1
  let closing = false

  const slots: Slot[] = Array.from({ length: Math.max(1, opts.workers ?? SCREEN_WORKERS) }, () => startSlot())

  function startSlot(slot?: Slot): Slot {
    const beacon = new Int32Array(new SharedArrayBuffer(8))
    const worker = new Worker(script, { workerData: { beacon } })
    worker.unref()
    const s: Slot = slot ?? { worker, beacon, restarts: 0, inProcess: false, seen: -1, quietFor: 0 }
    s.worker = worker
    s.beacon = beacon
    s.seen = -1
    s.quietFor = 0
    worker.on('message', (message: FromWorker) => {
      // Messages from a worker that has been replaced belong to screens settled at the failure.
      if (s.worker !== worker) return
      const screen = screens.get(message.id)
      if (!screen || screen.slot !== s) return
      if (message.op === 'parsed') {
        screen.uncredited -= message.size
        screen.events.parsed(message.size)
      } else if (message.op === 'title') screen.events.title(message.title)
      else {
        const ready = screen.cuts.get(message.cut)
        screen.cuts.delete(message.cut)
        ready?.(message.snapshot)
      }
    })
    const fail = (reason: string) => s.worker === worker && failSlot(s, reason)
    worker.on('error', (err) => fail(`it threw: ${err.stack ?? err}`))
    worker.on('messageerror', (err) => fail(`a message could not be delivered: ${err.stack ?? err}`))
    worker.on('exit', (code) => fail(`it exited with code ${code}`))
    return s
  }

  /**
   * The watchdog: a worker whose beacon shows the same screen at work since the last looks, for
   * stuckMs, is stuck in that screen. The beacon is shared memory, so it can be read while the
   * worker's thread is blocked (a message would never be answered).
   */
  const watchdog = setInterval(() => {
    for (const slot of slots) {
      if (!slot.worker) continue
      const busy = Atomics.load(slot.beacon, 0)
      const generation = Atomics.load(slot.beacon, 1)
      if (busy === 0 || generation !== slot.seen) {
        slot.seen = generation
        slot.quietFor = 0
        continue
      }
      slot.quietFor += WATCHDOG_INTERVAL_MS
      if (slot.quietFor < stuckMs) continue
      const culprit = screens.get(busy)
      failSlot(slot, `it spent over ${Math.round(stuckMs / 1000)} s on the screen of ${culprit?.label ?? `screen ${busy}`} without returning`)
    }
  }, Math.min(WATCHDOG_INTERVAL_MS, stuckMs / 2))
  watchdog.unref()

  /**
   * A worker died (an exception in xterm, out of memory, killed) or is stuck. Its screens are
   * gone, and with them every message it had not answered: cuts that would never complete (late
   * viewers never get `attached`) and parse credit that would never return (a PTY paused by flow
   * control stays paused), so every terminal on it would hang.
   *
   * Design: the slot gets a fresh worker, and each of its screens starts fresh, empty, at its
   * current size (the daemon keeps no copy of past output, only the worker's screens held it, so
   * it cannot be rebuilt exactly; rather than guess, it says so). Screens on the other workers
   * notice nothing. Then, in this order, nothing is left waiting:
   * - pending cuts are answered by the fresh screen, before any new output reaches it, so a late
   *   viewer gets an empty snapshot exactly at the current point of the stream followed by all
   *   later output (no gap, no repeat: only the history before the failure is lost);
   * - credit for every byte the worker had not acknowledged is returned at once, so a paused
   *   PTY resumes (those bytes will never be parsed by anybody);
   * - later writes, cuts and resizes go to the fresh screen.
   * A slot that failed MAX_WORKER_RESTARTS times (a worker that dies again on the same output)
   * runs its screens in-process from then on: slower under a flood, but the already-tested path.
   */
  function failSlot(slot: Slot, reason: string): void {
    if (closing || !slot.worker) return
    const dead = slot.worker
    slot.worker = null
    void dead.terminate().catch(() => {}) // after messageerror or when stuck the thread may still run
    slot.restarts++
    slot.inProcess = slot.restarts > MAX_WORKER_RESTARTS
    const mine = [...screens.values()].filter((screen) => screen.slot === slot)
    const names = mine.map((screen) => screen.label).join(', ') || 'none'
    warn(
      `a screen worker failed (${reason.trim()}); ${slot.inProcess ? 'its screens continue in-process' : 'it was replaced by a new one'}. ` +
        `The screen and scrollback up to this point of the session${mine.length === 1 ? '' : 's'} it held (${names}) ` +
        `${mine.length === 1 ? 'is' : 'are'} lost: late viewers see only output from now on. Other sessions are not affected.`,
    )
    if (!slot.inProcess) startSlot(slot)
    for (const screen of mine) {
      const cuts = [...screen.cuts.values()]
      screen.cuts.clear()
      const credit = screen.uncredited
      screen.uncredited = 0
      if (slot.inProcess) screen.local = local.open(screen.opts, screen.events)
      else post(slot, { op: 'open', id: screen.id, opts: screenOptions(screen.opts, opts) })
      for (const ready of cuts) port(screen).cut(ready)
      if (credit > 0) screen.events.parsed(credit)
    }
  }

  function post(slot: Slot, message: ToWorker, transfer?: ArrayBuffer[]): void {
    slot.worker!.postMessage(message, transfer)
  }

  /** The least loaded slot that still has a worker, or null when every one runs in-process. */
  function pick(): Slot | null {
    let best: Slot | null = null
    let bestCount = Infinity
    for (const slot of slots) {
      if (!slot.worker) continue
      let count = 0
      for (const screen of screens.values()) if (screen.slot === slot) count++
      if (count < bestCount) [best, bestCount] = [slot, count]
    }
    return best
  }

  /** What the mirror's calls do for one screen, wherever it lives now. */
  function port(screen: WorkerScreen): ScreenPort {
    return {
      write(data) {
        if (screen.local) return screen.local.write(data)
        screen.uncredited += data.length
        // The mirror batches reads (one message per turn of the event loop). The bytes are
        // shared with the viewers' frames, so the worker gets its own copy, moved rather than
        // copied a second time by postMessage.
        const copy = new Uint8Array(data)
        post(screen.slot, { op: 'write', id: screen.id, data: copy }, [copy.buffer])
      },
      cut(ready) {
        if (screen.local) return screen.local.cut(ready)
        const cut = nextCut++
        screen.cuts.set(cut, ready)
        post(screen.slot, { op: 'cut', id: screen.id, cut })
      },
      resize(cols, rows) {
        screen.opts = { ...screen.opts, cols, rows }
        if (screen.local) return screen.local.resize(cols, rows)
        post(screen.slot, { op: 'resize', id: screen.id, cols, rows })
      },
      dispose() {
        if (!screens.delete(screen.id)) return
        if (screen.local) screen.local.dispose()
        else if (screen.slot.worker) post(screen.slot, { op: 'dispose', id: screen.id })
      },
    }
  }

  return {
    get worker() {
      return slots[0]!.worker
    },
    get workers() {
      return slots.map((slot) => slot.worker).filter((worker): worker is Worker => worker !== null)
    },
    open(screenOpts, events, label = 'a session') {
      const id = nextId++
      const slot = pick() ?? slots[0]!
      const screen: WorkerScreen = { id, label, slot, events, opts: { ...screenOpts }, cuts: new Map(), uncredited: 0, local: null }
      screens.set(id, screen)
      if (!slot.worker) screen.local = local.open(screen.opts, events)
      else post(slot, { op: 'open', id, opts: screenOptions(screenOpts, opts) })
      return port(screen)
    },
    async close() {
      closing = true
      clearInterval(watchdog)
      for (const screen of screens.values()) screen.local?.dispose()
      screens.clear()
      await Promise.all(slots.map((slot) => slot.worker?.terminate()))
    },
  }
}

/** One worker thread of the pool, and what the watchdog knows of it. */
interface Slot {
  /** Null while being replaced, and for good once its screens run in-process. */
  worker: Worker | null
  /** Shared with the worker: [id of the screen at work (0: none), generation of enter/leave]. */
  beacon: Int32Array
  restarts: number
  inProcess: boolean
  /** The generation at the watchdog's last look, and how long it has stayed so with a screen at work. */
  seen: number
  quietFor: number
}

/** What the main thread keeps of one screen in the worker: enough to settle it if the worker dies. */
interface WorkerScreen {
  id: number
  /** The session, for messages. */
  label: string
  slot: Slot
  events: ScreenEvents
  /** The size it has (or will have, once the worker reaches the last resize). */
  opts: ScreenOptions
  /** Cuts asked for and not yet answered, in order. */
  cuts: Map<number, (s: Snapshot) => void>
  /** Bytes written to the worker whose parse credit has not come back. */
  uncredited: number
  /** Its in-process screen, when its slot runs in-process. */
  local: ScreenPort | null
}

/** `data` in pieces of at most PARSE_PIECE_BYTES (views, not copies). */
export function writeInPieces(data: Uint8Array, write: (piece: Uint8Array) => void): void {
  for (let at = 0; at < data.length; at += PARSE_PIECE_BYTES) write(data.subarray(at, at + PARSE_PIECE_BYTES))
}

function screenOptions(opts: ScreenOptions, host: ScreenHostOptions): ScreenOptions {
  return host.fastForward === false ? { ...opts, noFastForward: true } : opts
}
