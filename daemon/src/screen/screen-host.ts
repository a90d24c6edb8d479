/**
 * Where the headless screens run. Parsing is the most expensive step of a flood, and on the
 * daemon's main thread it alternates with reading the PTY: while the parser works, nobody reads,
 * the PTY's small kernel buffer fills and the program stalls. Worker threads parse while the
 * main thread keeps reading and fanning out, so a flood runs at the rate of the slower of the two
 * instead of their sum. Messages to a worker keep their order, so the snapshot cut is exactly
 * as precise as in-process. Screens are spread over a small pool (SCREEN_WORKERS) watched by a
 * watchdog: a worker that dies or is stuck in one screen is replaced, the screen it was stuck in
 * starts fresh and the others it held are rebuilt from checkpoints (see failSlot in
 * workerScreenHost); a screen whose xterm throws is started fresh alone. Nothing hangs.
 * When no worker can start (e.g. running from TypeScript sources in a test), the same screens
 * run in-process. See docs/daemon.md ("Hostile output").
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { SCREEN_WORKER_HEAP_MB } from '@tabula/protocol'
import { HeadlessScreen, type ScreenOptions, type SharedSnapshot, type Snapshot } from './screen.js'
import { withSharedRows } from './history.js'
import { collectWhenIdle, garbageCollector } from './idle-collect.js'

/** One screen as its mirror sees it: write, cut, resize, dispose; parsed credit and titles come back. */
export interface ScreenPort {
  /**
   * Output bytes, in order. The caller shares `data` (with the viewers' frames) and never changes
   * it afterwards: a screen and its replay log may keep views of it.
   */
  write(data: Uint8Array): void
  cut(ready: (snapshot: Snapshot) => void, how?: CutOptions): void
  resize(cols: number, rows: number): void
  dispose(): void
}

/** What a cut is for, and what its snapshot may leave out of `data`. */
export interface CutOptions {
  /**
   * No viewer waits for this snapshot (a save), so it does not lift the screen's parse cap
   * (parse-scheduler.ts): a costly screen saved every few seconds would otherwise parse its whole
   * backlog uncapped at each save.
   */
  background?: boolean
  /**
   * A viewer's cut of the screen without its scrollback (a screen-first attach;
   * Snapshot.historyLeftOut says what it left out). A screen rebuilt after a failure answers it
   * whole (nothing is lost by that).
   */
  screenOnly?: boolean
  /**
   * The stored rows may come by reference (Snapshot.stored) instead of in `data`, for a caller
   * that writes them out as bytes; a screen rebuilt after a failure may answer with the whole
   * text anyway.
   */
  shareRows?: boolean
}

export interface ScreenEvents {
  /**
   * `size` bytes written earlier have been parsed (flow-control credit). `weight` is what the
   * screen's output costs to parse per byte against plain text (parse-scheduler.ts; 1 when unknown).
   */
  parsed(size: number, weight?: number): void
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
  | { op: 'cut'; id: number; cut: number; kind: CutKind; shareRows?: boolean }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'dispose'; id: number }

/**
 * Who a cut is for. `viewer`: an attach or a resync, which runs first, past the screen's parse cap.
 * `screen`: the same, of the screen without its scrollback (a screen-first attach).
 * `save`: the screen keeper's, which no viewer waits for: it waits its turn (parse-scheduler.ts).
 * `checkpoint`: the pool's own, which waits too and is answered with its stored rows shared
 * (`checkpoint` below) rather than as a snapshot.
 */
export type CutKind = 'viewer' | 'screen' | 'save' | 'checkpoint'

export type FromWorker =
  | { op: 'parsed'; id: number; size: number; weight?: number }
  | { op: 'failed'; id: number; error: string }
  | { op: 'title'; id: number; title: string }
  | { op: 'snapshot'; id: number; cut: number; snapshot: Snapshot }
  /** The answer to a background cut: its stored rows shared with the worker, not copied. */
  | { op: 'checkpoint'; id: number; cut: number; checkpoint: SharedSnapshot }

export interface ScreenHostOptions {
  /** False: parse every byte (ScreenOptions.noFastForward for every screen). Default true. */
  fastForward?: boolean
}

/** Screens in this thread: simple, and what tests running from sources get. */
export function localScreenHost(host: ScreenHostOptions & { warn?: (message: string) => void } = {}): ScreenHost {
  const warn = host.warn ?? warnOnStderr
  return {
    open(opts, events, label = 'a session') {
      let size = { ...opts }
      // What this screen owes its mirror, so that a screen whose xterm throws can be replaced
      // without leaving a cut unanswered or credit unreturned (see HeadlessScreen's onFail).
      const cuts = new Set<(snapshot: Snapshot) => void>()
      let uncredited = 0
      const start = (): HeadlessScreen =>
        new HeadlessScreen(
          screenOptions(size, host),
          (title) => events.title(title),
          (err) => {
            warn(screenThrewMessage(label, err))
            screen = start()
            const credit = uncredited
            uncredited = 0
            // Answered whole (the flags of a cut are not kept; nothing is lost by that).
            for (const ready of [...cuts]) ask(ready)
            if (credit > 0) events.parsed(credit)
          },
        )
      let screen = start()
      const ask = (ready: (snapshot: Snapshot) => void, { screenOnly = false, shareRows = false }: CutOptions = {}) => {
        cuts.add(ready)
        const mine = screen
        const answer = (snapshot: Snapshot) => {
          cuts.delete(ready)
          ready(snapshot)
        }
        if (shareRows) mine.cutShared(answer, screenOnly)
        else mine.cut(answer, screenOnly)
      }
      return {
        write: (data) =>
          writeInPieces(data, (piece) => {
            uncredited += piece.length
            const mine = screen
            mine.write(piece, () => {
              if (mine !== screen) return
              uncredited -= piece.length
              events.parsed(piece.length)
            })
          }),
        cut: ask,
        resize: (cols, rows) => {
          size = { ...size, cols, rows }
          screen.resize(cols, rows)
        },
        dispose: () => screen.dispose(),
      }
    },
    close: async () => {},
  }
}

function warnOnStderr(message: string): void {
  process.stderr.write(`tabula: ${message}\n`)
}

/** The log line for a screen whose xterm threw: it names the session and says what was lost. */
export function screenThrewMessage(label: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err)
  return (
    `the screen of ${label} failed (xterm threw: ${reason}); it starts again empty at its size. ` +
    `Its screen and scrollback up to this point are lost: late viewers see only output from now on. Other sessions are not affected.`
  )
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
 * A worker holds the screens of several sessions, and when it must be ended (stuck in one of
 * them, or dead) the others should lose nothing. The main thread therefore keeps, for every
 * screen, a checkpoint (a snapshot cut by the worker) and the output and resizes since it (the
 * replay log); a fresh worker rebuilds the screen from both. A screen is checkpointed once its
 * output has paused for CHECKPOINT_MS, and during steady output whenever its log holds half of
 * REPLAY_LOG_BYTES, at most every CHECKPOINT_MIN_MS. A log over REPLAY_LOG_BYTES (a flood) is
 * dropped: that screen would start empty if its worker failed before the next checkpoint, and
 * the log line says so. A checkpoint is a serialization of the screen and xterm's short tail;
 * the stored rows it refers to are the worker's own bytes, shared, not a copy (history.ts,
 * `share`): the main thread holds no second copy of a session's history (docs/daemon.md,
 * "Memory per session").
 */
export const CHECKPOINT_MS = 1_000
export const CHECKPOINT_MIN_MS = 10_000
export const REPLAY_LOG_BYTES = 1024 * 1024

export interface WorkerHostOptions extends ScreenHostOptions {
  /** The built worker (tests). */
  script?: string
  /** Number of worker threads (SCREEN_WORKERS). */
  workers?: number
  /** Stuck bound (SCREEN_STUCK_MS); tests use a shorter one. */
  stuckMs?: number
  /** How long a screen's output pauses before it is checkpointed (CHECKPOINT_MS); tests use a shorter one. */
  checkpointMs?: number
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
  const warn = opts.warn ?? warnOnStderr
  const stuckMs = opts.stuckMs ?? SCREEN_STUCK_MS
  const local = localScreenHost({ ...opts, warn })
  // Before the first worker starts, so that every worker has V8's collection (idle-collect.ts);
  // the main thread's bursts (reading a flood, checkpoints, saved screens) are collected too.
  const stopCollecting = collectWhenIdle(garbageCollector())
  const screens = new Map<number, WorkerScreen>()
  let nextId = 1
  let nextCut = 1
  let closing = false

  const slots: Slot[] = Array.from({ length: Math.max(1, opts.workers ?? SCREEN_WORKERS) }, () => startSlot())

  function startSlot(slot?: Slot): Slot {
    const beacon = new Int32Array(new SharedArrayBuffer(8))
    // A bounded heap is collected sooner (SCREEN_WORKER_HEAP_MB); hitting it ends the worker, which is then replaced.
    const worker = new Worker(script, { workerData: { beacon }, resourceLimits: { maxOldGenerationSizeMb: SCREEN_WORKER_HEAP_MB } })
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
        screen.uncredited -= credit(screen, message.size, message.weight)
      } else if (message.op === 'title') screen.events.title(message.title)
      else if (message.op === 'failed') screenThrew(screen, message.error)
      else if (message.op === 'checkpoint') {
        if (message.cut === screen.checkpoint) checkpointed(screen, message.checkpoint)
      } else {
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
  const watchdog = setInterval(
    () => {
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
        failSlot(
          slot,
          `it spent over ${Math.round(stuckMs / 1000)} s on the screen of ${culprit?.label ?? `screen ${busy}`} without returning`,
          busy,
        )
      }
    },
    Math.min(WATCHDOG_INTERVAL_MS, stuckMs / 2),
  )
  watchdog.unref()

  const checkpointMs = opts.checkpointMs ?? CHECKPOINT_MS
  const checkpoints = setInterval(() => {
    const quiet = performance.now() - checkpointMs
    for (const screen of screens.values()) if (screen.dirty && screen.changedAt <= quiet) checkpoint(screen)
  }, checkpointMs / 2)
  checkpoints.unref()

  /** Asks the screen's worker for a checkpoint (unless one is on its way or it runs in-process). */
  function checkpoint(screen: WorkerScreen): void {
    if (screen.local || !screen.slot.worker || screen.checkpoint !== 0) return
    const cut = nextCut++
    screen.checkpoint = cut
    screen.checkpointAt = performance.now()
    screen.dirty = false
    screen.log.push({ op: 'mark', cut })
    post(screen.slot, { op: 'cut', id: screen.id, cut, kind: 'checkpoint' })
  }

  /** A checkpoint arrived: it replaces the last one, and the log before its cut is dropped. */
  function checkpointed(screen: WorkerScreen, snapshot: SharedSnapshot): void {
    screen.checkpoint = 0
    const mark = screen.log.findIndex((step) => step.op === 'mark')
    screen.log.splice(0, mark + 1)
    screen.logBytes = screen.log.reduce((sum, step) => sum + (step.op === 'write' ? step.data.length : 0), 0)
    screen.base = { opts: { ...screen.opts, cols: snapshot.cols, rows: snapshot.rows }, snapshot }
  }

  /** Keeps a step for the replay (before it is sent); drops the log when it outgrows REPLAY_LOG_BYTES. */
  function remember(screen: WorkerScreen, step: LogStep): void {
    screen.dirty = true
    screen.changedAt = performance.now()
    if (!screen.base && screen.checkpoint === 0) return
    screen.log.push(step.op === 'write' ? { op: 'write', data: keep(step.data) } : step)
    if (step.op !== 'write') return
    screen.logBytes += step.data.length
    if (screen.logBytes > REPLAY_LOG_BYTES) {
      screen.base = null // until the next checkpoint arrives, this screen cannot be rebuilt
      screen.checkpoint = 0
      screen.log = []
      screen.logBytes = 0
    }
  }

  /** After a write was sent: a checkpoint sooner than CHECKPOINT_MS when the log runs long or was dropped. */
  function checkpointSoon(screen: WorkerScreen): void {
    if (screen.checkpoint !== 0 || performance.now() - screen.checkpointAt < CHECKPOINT_MIN_MS) return
    if (screen.base === null || screen.logBytes > REPLAY_LOG_BYTES / 2) checkpoint(screen)
  }

  /** Parse credit from the screen's worker; credit for replayed output is not the mirror's. */
  function credit(screen: WorkerScreen, size: number, weight?: number): number {
    const replayed = Math.min(screen.swallow, size)
    screen.swallow -= replayed
    if (size > replayed) screen.events.parsed(size - replayed, weight)
    return size - replayed
  }

  /** The screen's xterm threw in its worker, which disposed it: this session alone starts empty. */
  function screenThrew(screen: WorkerScreen, error: string): void {
    warn(screenThrewMessage(screen.label, error))
    settle(screen, () => reset(screen))
  }

  /** A screen that starts empty at its current size, with nothing to rebuild from. */
  function reset(screen: WorkerScreen): void {
    screen.base = { opts: { ...screen.opts }, snapshot: null }
    screen.log = []
    screen.logBytes = 0
    restore(screen)
  }

  /**
   * Opens the screen again (on its slot's worker, or in-process) as its checkpoint and replay log
   * describe it. The replay's parse credit was given before (see settle), so it is swallowed.
   */
  function restore(screen: WorkerScreen): void {
    const base = screen.base!
    screen.checkpoint = 0
    screen.log = screen.log.filter((step) => step.op !== 'mark')
    const replay: LogStep[] = []
    if (base.snapshot)
      replay.push({ op: 'write', data: new TextEncoder().encode(withSharedRows(base.snapshot.data, base.snapshot.stored)) })
    let covered = base.snapshot?.covered ?? 0
    for (const step of screen.log) {
      if (step.op !== 'write' || covered === 0) replay.push(step)
      else if (step.data.length <= covered) covered -= step.data.length
      else {
        replay.push({ op: 'write', data: step.data.subarray(covered) })
        covered = 0
      }
    }
    screen.swallow = replay.reduce((sum, step) => sum + (step.op === 'write' ? step.data.length : 0), 0)
    if (screen.slot.inProcess) {
      screen.local = local.open(base.opts, { parsed: (size) => credit(screen, size), title: screen.events.title }, screen.label)
    } else post(screen.slot, { op: 'open', id: screen.id, opts: screenOptions(base.opts, opts) })
    for (const step of replay) {
      if (step.op === 'resize') resizeScreen(screen, step.cols, step.rows)
      else if (step.op === 'write') writeScreen(screen, step.data)
    }
    if (screen.opts.cols !== base.opts.cols || screen.opts.rows !== base.opts.rows) resizeScreen(screen, screen.opts.cols, screen.opts.rows)
  }

  /**
   * Before a screen is opened again: every cut asked of the old one is asked of the new one
   * (after `open`, before any new output, so a late viewer's snapshot sits exactly at the current
   * point of the stream), and credit for every byte the old one had not acknowledged is returned
   * at once, so a PTY paused by flow control resumes.
   */
  function settle(screen: WorkerScreen, open: () => void): void {
    const cuts = [...screen.cuts.values()]
    screen.cuts.clear()
    const owed = screen.uncredited
    screen.uncredited = 0
    screen.swallow = 0
    open()
    for (const ready of cuts) port(screen).cut(ready)
    if (owed > 0) screen.events.parsed(owed)
  }

  /**
   * A worker died (out of memory, killed, an exception outside any screen) or is stuck in one
   * screen (`culprit`). Its screens are gone, and with them every message it had not answered:
   * cuts that would never complete (late viewers never get `attached`) and parse credit that
   * would never return (a PTY paused by flow control stays paused), so every terminal on it
   * would hang.
   *
   * Design: the slot gets a fresh worker. Every screen it held except the culprit is rebuilt
   * there from its checkpoint and replay log (see CHECKPOINT_MS), exactly as it was, so those
   * sessions notice nothing; the culprit (whose output would only get it stuck again), and a
   * screen whose log had outgrown REPLAY_LOG_BYTES, start empty at their current size, and the
   * log line names them. Then nothing is left waiting (see settle). A slot that failed
   * MAX_WORKER_RESTARTS times (a worker that dies again on the same output) runs its screens
   * in-process from then on: slower under a flood, but the already-tested path.
   */
  function failSlot(slot: Slot, reason: string, culprit = Atomics.load(slot.beacon, 0)): void {
    if (closing || !slot.worker) return
    const dead = slot.worker
    slot.worker = null
    void dead.terminate().catch(() => {}) // after messageerror or when stuck the thread may still run
    slot.restarts++
    slot.inProcess = slot.restarts > MAX_WORKER_RESTARTS
    const mine = [...screens.values()].filter((screen) => screen.slot === slot)
    const lost = mine.filter((screen) => screen.id === culprit || !screen.base)
    const kept = mine.filter((screen) => !lost.includes(screen))
    const names = (list: WorkerScreen[]) => list.map((screen) => screen.label).join(', ')
    warn(
      `a screen worker failed (${reason.trim()}); ${slot.inProcess ? 'its screens continue in-process' : 'it was replaced by a new one'}. ` +
        (lost.length > 0
          ? `The screen and scrollback up to this point of the session${lost.length === 1 ? '' : 's'} (${names(lost)}) ` +
            `${lost.length === 1 ? 'is' : 'are'} lost: late viewers see only output from now on. `
          : '') +
        (kept.length > 0 ? `The other sessions it held (${names(kept)}) were rebuilt from their last checkpoint and lost nothing. ` : '') +
        `Sessions on other workers are not affected.`,
    )
    if (!slot.inProcess) startSlot(slot)
    for (const screen of mine) settle(screen, () => (lost.includes(screen) ? reset(screen) : restore(screen)))
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
        remember(screen, { op: 'write', data })
        writeScreen(screen, data)
        checkpointSoon(screen)
      },
      cut(ready, how = {}) {
        if (screen.local) return screen.local.cut(ready, how)
        const cut = nextCut++
        screen.cuts.set(cut, ready)
        const kind = how.background ? 'save' : how.screenOnly ? 'screen' : 'viewer'
        post(
          screen.slot,
          how.shareRows && !how.background
            ? { op: 'cut', id: screen.id, cut, kind, shareRows: true }
            : { op: 'cut', id: screen.id, cut, kind },
        )
      },
      resize(cols, rows) {
        screen.opts = { ...screen.opts, cols, rows }
        if (!screen.local) remember(screen, { op: 'resize', cols, rows })
        resizeScreen(screen, cols, rows)
      },
      dispose() {
        if (!screens.delete(screen.id)) return
        if (screen.local) screen.local.dispose()
        else if (screen.slot.worker) post(screen.slot, { op: 'dispose', id: screen.id })
      },
    }
  }

  /** Output to wherever the screen lives now (the caller accounts for its credit). */
  function writeScreen(screen: WorkerScreen, data: Uint8Array): void {
    if (screen.local) return screen.local.write(data)
    // The mirror batches reads (one message per turn of the event loop). The worker gets its
    // own copy, moved rather than copied a second time by postMessage.
    const copy = new Uint8Array(data)
    post(screen.slot, { op: 'write', id: screen.id, data: copy }, [copy.buffer])
  }

  function resizeScreen(screen: WorkerScreen, cols: number, rows: number): void {
    if (screen.local) return screen.local.resize(cols, rows)
    post(screen.slot, { op: 'resize', id: screen.id, cols, rows })
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
      const screen: WorkerScreen = {
        id,
        label,
        slot,
        events,
        opts: { ...screenOpts },
        cuts: new Map(),
        uncredited: 0,
        local: null,
        base: { opts: { ...screenOpts }, snapshot: null },
        log: [],
        logBytes: 0,
        checkpoint: 0,
        checkpointAt: -Infinity,
        dirty: false,
        changedAt: 0,
        swallow: 0,
      }
      screens.set(id, screen)
      if (!slot.worker) screen.local = local.open(screen.opts, events, label)
      else post(slot, { op: 'open', id, opts: screenOptions(screenOpts, opts) })
      return port(screen)
    },
    async close() {
      closing = true
      clearInterval(watchdog)
      clearInterval(checkpoints)
      stopCollecting()
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
  /**
   * The last checkpoint (null snapshot: the empty screen it opened as); null when it cannot be
   * rebuilt. Its stored rows are the worker's own bytes, shared (history.ts), not a copy.
   */
  base: { opts: ScreenOptions; snapshot: SharedSnapshot | null } | null
  /** Output and resizes since `base`, with a mark where the checkpoint on its way was cut. */
  log: LogStep[]
  logBytes: number
  /** The cut id of the checkpoint on its way (0: none), and when it was asked for. */
  checkpoint: number
  checkpointAt: number
  /** Output or a resize since the last checkpoint was asked for, and when the last came. */
  dirty: boolean
  changedAt: number
  /** Credit still to come for replayed output, which the mirror never wrote (see restore). */
  swallow: number
}

type LogStep = { op: 'write'; data: Uint8Array } | { op: 'resize'; cols: number; rows: number } | { op: 'mark'; cut: number }

/** Bytes of its buffer beyond a write's own that the replay log may keep alive with it. */
const KEEP_SLACK_BYTES = 64

/**
 * What the replay log keeps of a write: its bytes as they are (nobody changes them once written,
 * see ScreenPort.write; the mirror's chunks are their own buffers, 5 bytes of frame header
 * aside), or a copy when they are a view of a bigger buffer they would keep alive (a pooled
 * small Buffer). Not a copy in shared memory beside the worker's: shared memory lives until
 * both threads have collected their handle on it, which raised a 40 MB flood's peak RSS from
 * 176-190 MB to 195-225 MB.
 */
function keep(data: Uint8Array): Uint8Array {
  return data.buffer.byteLength - data.byteLength <= KEEP_SLACK_BYTES ? data : new Uint8Array(data)
}

/** `data` in pieces of at most PARSE_PIECE_BYTES (views, not copies). */
export function writeInPieces(data: Uint8Array, write: (piece: Uint8Array) => void): void {
  for (let at = 0; at < data.length; at += PARSE_PIECE_BYTES) write(data.subarray(at, at + PARSE_PIECE_BYTES))
}

function screenOptions(opts: ScreenOptions, host: ScreenHostOptions): ScreenOptions {
  return host.fastForward === false ? { ...opts, noFastForward: true } : opts
}
