/**
 * Where the headless screens run. Parsing is the most expensive step of a flood, and on the
 * daemon's main thread it alternates with reading the PTY: while the parser works, nobody reads,
 * the PTY's small kernel buffer fills and the program stalls. A worker thread parses while the
 * main thread keeps reading and fanning out, so a flood runs at the rate of the slower of the two
 * instead of their sum. Messages to the worker keep their order, so the snapshot cut is exactly
 * as precise as in-process. When the worker cannot start (e.g. running from TypeScript sources
 * in a test), the same screens run in-process. When the worker dies, every screen moves
 * in-process, fresh (see failOver in workerScreenHost): history is lost, nothing hangs.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
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
  open(opts: ScreenOptions, events: ScreenEvents): ScreenPort
  close(): Promise<void>
}

/** A worker-backed host; `worker` (null when running in-process) is exposed for tests. */
export interface WorkerScreenHost extends ScreenHost {
  readonly worker: Worker | null
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
        write: (data) => screen.write(data, () => events.parsed(data.length)),
        cut: (ready) => screen.cut(ready),
        resize: (cols, rows) => screen.resize(cols, rows),
        dispose: () => screen.dispose(),
      }
    },
    close: async () => {},
  }
}

/**
 * Screens in one worker thread shared by every session; falls back to in-process, at start
 * (no compiled worker) or when the worker dies. `script` lets tests run the built worker.
 */
export function workerScreenHost(opts: ScreenHostOptions & { script?: string } = {}): WorkerScreenHost {
  const script = opts.script ?? fileURLToPath(new URL('./screen-worker.js', import.meta.url))
  if (!existsSync(script)) return { ...localScreenHost(opts), worker: null }
  const worker = new Worker(script)
  worker.unref()
  const local = localScreenHost(opts)
  const screens = new Map<number, WorkerScreen>()
  let nextId = 1
  let nextCut = 1
  /** Set once the worker is gone: every screen then lives in this thread (see failOver). */
  let failed = false
  let closing = false

  worker.on('message', (message: FromWorker) => {
    // Messages after the failover belong to screens that no longer exist (their credit and cuts
    // were settled then); counting them again would give credit twice.
    if (failed) return
    const screen = screens.get(message.id)
    if (!screen) return
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
  worker.on('error', (err) => failOver(`it threw: ${err.stack ?? err}`))
  worker.on('messageerror', (err) => failOver(`a message could not be delivered: ${err.stack ?? err}`))
  worker.on('exit', (code) => failOver(`it exited with code ${code}`))

  /**
   * The worker died (an exception in xterm, out of memory, killed). Its screens are gone, and
   * with them every message it had not answered: cuts that would never complete (late viewers
   * never get `attached`) and parse credit that would never return (a PTY paused by flow
   * control stays paused), so every terminal of the daemon would hang.
   *
   * Design: fail over once, for good, to in-process screens (what localScreenHost runs), with
   * nothing to replay. The daemon keeps no copy of past output (only the worker's screens held
   * it), so each session's screen cannot be rebuilt exactly; rather than guess, every session
   * starts a fresh, empty screen at its current size, and says so on stderr. Then, in this
   * order, nothing is left waiting:
   * - pending cuts are answered by the fresh screen, before any new output reaches it, so a late
   *   viewer gets an empty snapshot exactly at the current point of the stream followed by all
   *   later output (no gap, no repeat: only the history before the failure is lost);
   * - credit for every byte the worker had not acknowledged is returned at once, so a paused
   *   PTY resumes (those bytes will never be parsed by anybody);
   * - later writes, cuts and resizes go to the fresh screen.
   * Restarting a worker instead would keep the throughput but adds a second failure mode (a
   * worker that dies again on the same output, in a loop) and the same loss of history; a
   * daemon that lost its worker is already in an exceptional state, and in-process screens are
   * the simple, already-tested path (slower under a flood, see above, but correct).
   */
  function failOver(reason: string): void {
    if (failed || closing) return
    failed = true
    void worker.terminate().catch(() => {}) // after messageerror the thread may still run
    const sessions = screens.size
    process.stderr.write(
      `tabula: the screen worker failed (${reason.trim()}); parsing continues in-process. ` +
        `The screen and scrollback of ${sessions} open session${sessions === 1 ? '' : 's'} up to this point ` +
        `${sessions === 1 ? 'is' : 'are'} lost: late viewers see only output from now on.\n`,
    )
    for (const screen of screens.values()) {
      screen.local = local.open(screen.opts, screen.events)
      const cuts = [...screen.cuts.values()]
      screen.cuts.clear()
      for (const ready of cuts) screen.local.cut(ready)
      const credit = screen.uncredited
      screen.uncredited = 0
      if (credit > 0) screen.events.parsed(credit)
    }
  }

  const post = (message: ToWorker) => worker.postMessage(message)
  return {
    worker,
    open(screenOpts, events) {
      const id = nextId++
      const screen: WorkerScreen = { events, opts: { ...screenOpts }, cuts: new Map(), uncredited: 0, local: null }
      if (failed) screen.local = local.open(screen.opts, events)
      else {
        screens.set(id, screen)
        post({ op: 'open', id, opts: screenOptions(screenOpts, opts) })
      }
      return {
        write(data) {
          if (screen.local) return screen.local.write(data)
          screen.uncredited += data.length
          // The mirror batches reads (one message per turn of the event loop). The bytes are
          // shared with the viewers' frames, so the worker gets its own copy, moved rather than
          // copied a second time by postMessage.
          const copy = new Uint8Array(data)
          worker.postMessage({ op: 'write', id, data: copy } satisfies ToWorker, [copy.buffer])
        },
        cut(ready) {
          if (screen.local) return screen.local.cut(ready)
          const cut = nextCut++
          screen.cuts.set(cut, ready)
          post({ op: 'cut', id, cut })
        },
        resize(cols, rows) {
          screen.opts = { ...screen.opts, cols, rows }
          if (screen.local) return screen.local.resize(cols, rows)
          post({ op: 'resize', id, cols, rows })
        },
        dispose() {
          if (screen.local) screen.local.dispose()
          if (!screens.delete(id) || failed) return
          post({ op: 'dispose', id })
        },
      }
    },
    async close() {
      closing = true
      for (const screen of screens.values()) screen.local?.dispose()
      screens.clear()
      await worker.terminate()
    },
  }
}

/** What the main thread keeps of one screen in the worker: enough to settle it if the worker dies. */
interface WorkerScreen {
  events: ScreenEvents
  /** The size it has (or will have, once the worker reaches the last resize). */
  opts: ScreenOptions
  /** Cuts asked for and not yet answered, in order. */
  cuts: Map<number, (s: Snapshot) => void>
  /** Bytes written to the worker whose parse credit has not come back. */
  uncredited: number
  /** Its in-process replacement, once the worker has failed. */
  local: ScreenPort | null
}

function screenOptions(opts: ScreenOptions, host: ScreenHostOptions): ScreenOptions {
  return host.fastForward === false ? { ...opts, noFastForward: true } : opts
}
