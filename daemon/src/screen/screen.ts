/**
 * The headless terminal itself (xterm + serializer), with nothing about threads or PTYs. It runs
 * inside the mirror worker (screen-worker.ts), or in-process when no worker is available.
 *
 * Output, cuts and resizes go through one queue, worked off in slices (PUMP_SLICE_MS) so the
 * thread can take in more output between them. The queue is what gives the screen a look ahead:
 * during a flood it holds what the parser has not reached yet, and fast-forward.ts uses that to
 * skip text that would scroll out of the scrollback unseen. Parsing itself is synchronous (see
 * xterm-internals.ts), so a cut serializes exactly the writes before it.
 */
import xtermHeadless from '@xterm/headless'
import serializeAddon from '@xterm/addon-serialize'
import { TextRun } from './fast-forward.js'
import { xtermInternals, type XtermInternals } from './xterm-internals.js'
import { serializer, type Serializer } from './serialize.js'
import { compactScrollback, type CompactScrollback } from './compact.js'
import type { SharedRows } from './history.js'

const { Terminal } = xtermHeadless
const { SerializeAddon } = serializeAddon

/**
 * Longest stretch of parsing before the thread goes back to its event loop: long enough that the
 * yield costs nothing measurable, short enough that credit for parsed output and new output keep
 * flowing (and, in-process, that the daemon stays responsive) during a flood.
 */
export const PUMP_SLICE_MS = 8

/**
 * How long plain text may wait in the queue, unparsed, for more output to arrive behind it, so
 * that fast-forward can skip it rather than print it (only while at most LOOKAHEAD_WAIT_BYTES
 * wait). Parsing text eagerly as soon as it arrives keeps the queue short, which leaves nothing
 * to look ahead at: measured on a 100 MB `cat`, an eager screen still printed 24–44 % of the
 * flood, and competed for the cores with the PTY reader and the viewers. Waiting costs nothing
 * visible: a cut (attach, resync), a resize or any byte that is not plain text ends the wait at
 * once, and viewers get output before the screen parses it. The byte bound keeps the waiting
 * output far below FLOW_LOW_WATERMARK, so waiting never pauses the PTY.
 */
export const LOOKAHEAD_WAIT_MS = 20
export const LOOKAHEAD_WAIT_BYTES = 1024 * 1024

export interface Snapshot {
  cols: number
  rows: number
  /** The serialized screen and scrollback (VT sequences); write it after a full reset. */
  data: string
  /**
   * Bytes of the output written after the cut that the snapshot already holds: a cut that fell
   * inside an escape sequence is taken where the sequence ends (see CUT_SETTLE_MS), so the live
   * output a viewer plays after it starts that many bytes later. Absent or 0 for most cuts.
   */
  covered?: number
  /**
   * Rows of scrollback a screen-only cut left out (`cut(ready, true)`); absent when the snapshot
   * is whole (no scrollback to leave out, or a whole cut), so nothing needs to follow it.
   */
  historyLeftOut?: number
  /**
   * Present only when the cut was asked for with its stored rows by reference (`shareRows`):
   * `data` is then the text without them, and the whole snapshot is `withSharedRows(data,
   * stored)` (history.ts), or, as bytes, `data` up to `stored.at`, the rows' bytes as they are
   * stored, then the rest of `data` (what a viewer's binary snapshot frame is made of, so the
   * history is neither decoded into a string nor copied between threads: docs/performance.md,
   * "Snapshots"). Null: no rows were stored, `data` is whole.
   */
  stored?: SharedRows | null
}

/**
 * A snapshot whose stored rows are referred to rather than copied (HeadlessScreen.cutShared):
 * `data` is the text without them, `stored` where they go and their bytes (history.ts,
 * withSharedRows). What the worker pool keeps to rebuild a screen (screen-host.ts).
 */
export interface SharedSnapshot extends Snapshot {
  stored: SharedRows | null
}

/**
 * A cut that falls inside an escape sequence (or a UTF-8 character) waits for the rest of it:
 * the snapshot then holds the whole sequence, and the live output after it starts where the
 * parser is at rest (a viewer never sees `1mRED` for a red `RED`). A program that stops in the
 * middle of a sequence for longer than this gets its snapshot as things are, sequence unfinished.
 */
export const CUT_SETTLE_MS = 50
/** At most this many bytes after the cut are parsed to finish a sequence (a bound on a cut's wait). */
export const CUT_SETTLE_BYTES = 64 * 1024

export interface ScreenOptions {
  cols: number
  rows: number
  scrollback: number
  /** Parse every byte, never fast-forward (`--no-fast-forward`; comparisons in tests and benchmarks). */
  noFastForward?: boolean
  /** Scrollback rows xterm keeps itself, the rest compact (COMPACT_TAIL_ROWS; tests use fewer). */
  compactTail?: number
}

type Step =
  | { op: 'write'; data: Uint8Array; offset: number; arrived: number; parsed: () => void }
  | ({ op: 'cut'; arrived: number; covered: number } & (
      | { shared: false; ready: (snapshot: Snapshot) => void; screenOnly: boolean }
      | { shared: true; ready: (snapshot: SharedSnapshot) => void; screenOnly: boolean }
    ))
  | { op: 'resize'; cols: number; rows: number }

const CARRIAGE_RETURN = new Uint8Array([0x0d])
const LINE_FEED = 0x0a

export class HeadlessScreen {
  private readonly term: InstanceType<typeof Terminal>
  /** Our serializer (serialize.ts); xterm's addon only if the internals it reads are missing. */
  private readonly serializer: Serializer
  private readonly internals: XtermInternals | null
  /** The compact scrollback (compact.ts), when the scrollback is deeper than xterm's tail. */
  private readonly compact: CompactScrollback | null
  private readonly fastForward: boolean
  private readonly steps: Step[] = []
  /** Stream offset of the next byte written (for the fast-forward's bookkeeping). */
  private written = 0
  private run: TextRun | null = null
  /** Bytes fast-forwarded over rather than parsed, for diagnostics and tests. */
  skippedBytes = 0
  private pumping = false
  /** Set while an asynchronous parse (the fallback without internals) is under way. */
  private parsingAsync = false
  /** Wakes the pump when the text at the head has waited LOOKAHEAD_WAIT_MS. */
  private waitTimer: ReturnType<typeof setTimeout> | null = null
  private disposed = false
  private readonly pump = () => this.work()

  /**
   * `onFail` hears of an exception in xterm while this screen works (xterm has bugs that throw on
   * some mixes of resizes, alternate screens and erases): the screen is then disposed, its queue
   * dropped, and its host recovers the session alone. Without it the exception would end the
   * thread that runs every screen beside this one.
   */
  constructor(
    opts: ScreenOptions,
    onTitle: (title: string) => void,
    private readonly onFail: (err: unknown) => void = (err) => {
      throw err
    },
  ) {
    this.term = new Terminal({
      cols: opts.cols,
      rows: opts.rows,
      scrollback: opts.scrollback,
      allowProposedApi: true,
      // xterm warns on the console about bytes it cannot parse: a program's output is not the
      // daemon's business to log, and one printing garbage would flood the daemon's stderr.
      logLevel: 'off',
    })
    this.compact = compactScrollback(this.term, opts.scrollback, opts.compactTail)
    this.serializer = serializer(this.term, this.compact?.compacted) ?? this.addonSerializer()
    this.term.onTitleChange(onTitle)
    const compacted = this.compact?.compacted
    this.internals = xtermInternals(this.term, compacted && { capacity: compacted.capacity, stored: () => compacted.history.count })
    this.fastForward = !opts.noFastForward && this.internals !== null
  }

  /**
   * `parsed` runs once this chunk has been parsed (or skipped), after every earlier chunk. Bytes
   * are UTF-8; a character split across two writes is joined by xterm's decoder.
   */
  write(data: Uint8Array, parsed: () => void): void {
    if (this.disposed) return
    this.steps.push({ op: 'write', data, offset: this.written, arrived: performance.now(), parsed })
    this.written += data.length
    if (this.run?.open) this.run.scan(data)
    this.schedule()
  }

  /**
   * A snapshot exactly between the chunks written before and after this call. `screenOnly`: the
   * screen without its scrollback (a screen-first attach; see Snapshot.historyLeftOut).
   */
  cut(ready: (snapshot: Snapshot) => void, screenOnly = false): void {
    this.queueCut({ shared: false, ready, screenOnly })
  }

  /** As `cut`, with the stored rows referred to, not copied into the text (SharedSnapshot). */
  cutShared(ready: (snapshot: SharedSnapshot) => void, screenOnly = false): void {
    this.queueCut({ shared: true, ready, screenOnly })
  }

  private queueCut(
    how:
      | { shared: false; ready: (snapshot: Snapshot) => void; screenOnly: boolean }
      | { shared: true; ready: (snapshot: SharedSnapshot) => void; screenOnly: boolean },
  ): void {
    if (this.disposed) return
    this.steps.push({ op: 'cut', arrived: performance.now(), covered: 0, ...how })
    this.run?.close()
    this.schedule()
  }

  /** Resizes at this point of the stream, so output written for the old size is laid out at it. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return
    this.steps.push({ op: 'resize', cols, rows })
    this.run?.close()
    this.schedule()
  }

  /** Scrollback rows kept compact, outside xterm's buffer (compact.ts); for diagnostics and tests. */
  get storedRows(): number {
    return this.compact?.compacted.history.count ?? 0
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.steps.length = 0
    if (this.waitTimer) clearTimeout(this.waitTimer)
    this.term.dispose()
  }

  private schedule(): void {
    if (this.pumping || this.parsingAsync) return
    this.pumping = true
    setImmediate(this.pump)
  }

  private work(): void {
    this.pumping = false
    try {
      this.workSlice()
    } catch (err) {
      this.dispose()
      this.onFail(err)
    }
  }

  private workSlice(): void {
    const until = performance.now() + PUMP_SLICE_MS
    let done = 0
    let waiting = false
    while (done < this.steps.length && !this.disposed && !this.parsingAsync) {
      const step = this.steps[done]!
      if (step.op === 'cut' && !this.settle(step, done)) {
        waiting = true
        break
      } else if (step.op !== 'write') {
        done++
        this.run = null // a cut or resize ends a run; the next one starts from the new state
        if (step.op === 'cut' && step.shared) step.ready({ ...this.sharedSnapshot(step.screenOnly), covered: step.covered })
        else if (step.op === 'cut') step.ready({ ...this.snapshot(step.screenOnly), covered: step.covered })
        else if (this.term.cols !== step.cols || this.term.rows !== step.rows) {
          if (this.compact) this.compact.resize(step.cols, step.rows)
          else this.term.resize(step.cols, step.rows)
        }
      } else if (this.skipAhead(step, done)) {
        // Went on to a point in or after `step`; the loop goes on from there.
      } else if (this.waitForLookahead(step)) {
        waiting = true
        break
      } else {
        done++
        this.parse(step)
      }
      if (performance.now() >= until) break
    }
    this.steps.splice(0, done)
    // While waiting, the next write or the wait timer brings the pump back.
    if (this.steps.length > 0 && !waiting) this.schedule()
  }

  /**
   * Brings the parser to rest for the cut at `at` (see CUT_SETTLE_MS): parses the output queued
   * right after the cut, byte by byte, up to the end of the sequence it is in. False to wait for
   * more output; true when the cut can be taken (at rest, or waited long enough).
   */
  private settle(cut: Step & { op: 'cut' }, at: number): boolean {
    const internals = this.internals
    if (!internals) return true
    while (!internals.atRest()) {
      const next = this.steps[at + 1]
      if (cut.covered >= CUT_SETTLE_BYTES || next?.op === 'resize' || next?.op === 'cut') return true
      if (!next) {
        return !this.waitUntil(cut.arrived + CUT_SETTLE_MS)
      }
      let i = 0
      while (i < next.data.length && !internals.atRest()) {
        // Byte by byte through an escape sequence, but the rest of a UTF-8 character in one
        // parse: xterm joins a zero-width character to the cell before it only when its bytes
        // are not split further (a plain terminal fed the same chunks joins it).
        const n = Math.min(internals.utf8Remaining() || 1, next.data.length - i)
        internals.parse(next.data.subarray(i, i + n))
        i += n
      }
      cut.covered += i
      this.run = null
      if (i === next.data.length) {
        this.steps.splice(at + 1, 1)
        next.parsed()
      } else {
        next.data = next.data.subarray(i)
        next.offset += i
      }
    }
    return true
  }

  /** Parses one chunk whole. */
  private parse(step: Step & { op: 'write' }): void {
    if (this.internals) {
      this.internals.parse(step.data)
      if (this.run && !this.run.parsedTo(step.offset + step.data.length)) this.run = null
      step.parsed()
      return
    }
    this.parsingAsync = true
    this.term.write(step.data, () => {
      this.parsingAsync = false
      step.parsed()
      if (!this.disposed) this.schedule()
    })
  }

  /**
   * Skips the text that leads up to the furthest point the run allows (see fast-forward.ts):
   * whole chunks are dropped, the chunk the point falls in is cut there. False if there is
   * nothing to skip (the caller then parses `step`).
   */
  private skipAhead(step: Step & { op: 'write' }, at: number): boolean {
    if (!this.fastForward) return false
    const internals = this.internals!
    if (this.run && !this.run.open && this.run.scanned <= step.offset) this.run = null
    if (!this.run) {
      const start = internals.runStart()
      if (!start) return false
      // A new run scans what is queued; later output is scanned as it arrives (see write()).
      const run = (this.run = new TextRun(start, step.offset))
      for (let i = at; i < this.steps.length && run.open; i++) {
        const next = this.steps[i]!
        if (next.op === 'write') run.scan(next.data)
        else run.close()
      }
    }
    const skip = this.run.skip(internals.evictingMoves())
    if (!skip) return false
    this.skippedBytes += skip.offset - step.offset
    for (const sgr of skip.sgr) internals.parse(sgr)
    internals.parse(CARRIAGE_RETURN)
    internals.parse(new Uint8Array(Math.min(skip.lineFeeds, internals.movesToFill())).fill(LINE_FEED))
    // Drop the chunks wholly before the point; cut the one it falls in.
    let i = at
    for (let next = this.steps[i]; next?.op === 'write'; next = this.steps[++i]) {
      const end = next.offset + next.data.length
      if (end > skip.offset) {
        next.data = next.data.subarray(skip.offset - next.offset)
        next.offset = skip.offset
        break
      }
      next.parsed()
    }
    this.steps.splice(at, i - at)
    return true
  }

  /**
   * True to leave `step` unparsed for now (see LOOKAHEAD_WAIT_MS): everything queued is plain
   * text (the run is open), not much of it, and none of it has waited long.
   */
  private waitForLookahead(step: Step & { op: 'write' }): boolean {
    if (!this.run?.open || this.written - step.offset >= LOOKAHEAD_WAIT_BYTES) return false
    // Every line move takes at least one byte: with a scrollback this deep, no skip can come
    // within the bytes allowed to wait, so waiting would only delay the screen.
    if (this.internals!.evictingMoves() > LOOKAHEAD_WAIT_BYTES) return false
    return this.waitUntil(step.arrived + LOOKAHEAD_WAIT_MS)
  }

  /** False once `deadline` has passed; else true, with the pump woken then (or by a write). */
  private waitUntil(deadline: number): boolean {
    const left = deadline - performance.now()
    if (left <= 0) return false
    this.waitTimer ??= setTimeout(() => {
      this.waitTimer = null
      this.schedule()
    }, Math.ceil(left))
    return true
  }

  private addonSerializer(): Serializer {
    const addon = new SerializeAddon()
    this.term.loadAddon(addon)
    return { serialize: (screenOnly) => addon.serialize(screenOnly ? { scrollback: 0 } : undefined) }
  }

  private snapshot(screenOnly = false): Snapshot {
    const { cols, rows } = this.term
    // The scrollback: rows kept compact, then xterm's own above its screen.
    const historyLeftOut = screenOnly ? this.storedRows + this.term.buffer.normal.baseY : 0
    const data = this.serializer.serialize(historyLeftOut > 0)
    return historyLeftOut > 0 ? { cols, rows, data, historyLeftOut } : { cols, rows, data }
  }

  /** A screen-only cut writes no stored rows, so it has none to share. */
  private sharedSnapshot(screenOnly = false): SharedSnapshot {
    const history = this.compact?.compacted.history
    if (!history || screenOnly) return { ...this.snapshot(screenOnly), stored: null }
    const { data, rows } = history.share(() => this.serializer.serialize())
    return { cols: this.term.cols, rows: this.term.rows, data, stored: rows }
  }
}
