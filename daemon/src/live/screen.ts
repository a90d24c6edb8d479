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

const { Terminal } = xtermHeadless
const { SerializeAddon } = serializeAddon

/**
 * Longest stretch of parsing before the thread goes back to its event loop: long enough that the
 * yield costs nothing measurable, short enough that credit for parsed output and new output keep
 * flowing (and, in-process, that the daemon stays responsive) during a flood.
 */
export const PUMP_SLICE_MS = 8

export interface Snapshot {
  cols: number
  rows: number
  /** The serialized screen and scrollback (VT sequences); write it after a full reset. */
  data: string
}

export interface ScreenOptions {
  cols: number
  rows: number
  scrollback: number
  /** Parse every byte, never fast-forward (for comparisons in tests and benchmarks). */
  noFastForward?: boolean
}

type Step =
  | { op: 'write'; data: Uint8Array; offset: number; parsed: () => void }
  | { op: 'cut'; ready: (snapshot: Snapshot) => void }
  | { op: 'resize'; cols: number; rows: number }

const CARRIAGE_RETURN = new Uint8Array([0x0d])
const LINE_FEED = 0x0a

export class HeadlessScreen {
  private readonly term: InstanceType<typeof Terminal>
  private readonly serializer = new SerializeAddon()
  private readonly internals: XtermInternals | null
  private readonly fastForward: boolean
  private readonly steps: Step[] = []
  /** Stream offset of the next byte written (for the fast-forward's bookkeeping). */
  private written = 0
  private run: TextRun | null = null
  /** Bytes fast-forwarded over rather than parsed, for diagnostics and tests. */
  skippedBytes = 0
  private pumping = false
  /** Set while an asynchronous parse (the fallback without internals) is under way. */
  private waiting = false
  private disposed = false
  private readonly pump = () => this.work()

  constructor(opts: ScreenOptions, onTitle: (title: string) => void) {
    this.term = new Terminal({ cols: opts.cols, rows: opts.rows, scrollback: opts.scrollback, allowProposedApi: true })
    this.term.loadAddon(this.serializer)
    this.term.onTitleChange(onTitle)
    this.internals = xtermInternals(this.term)
    this.fastForward = !opts.noFastForward && this.internals !== null
  }

  /**
   * `parsed` runs once this chunk has been parsed (or skipped), after every earlier chunk. Bytes
   * are UTF-8; a character split across two writes is joined by xterm's decoder.
   */
  write(data: Uint8Array, parsed: () => void): void {
    if (this.disposed) return
    this.steps.push({ op: 'write', data, offset: this.written, parsed })
    this.written += data.length
    this.schedule()
  }

  /** A snapshot exactly between the chunks written before and after this call. */
  cut(ready: (snapshot: Snapshot) => void): void {
    if (this.disposed) return
    this.steps.push({ op: 'cut', ready })
    this.schedule()
  }

  /** Resizes at this point of the stream, so output written for the old size is laid out at it. */
  resize(cols: number, rows: number): void {
    if (this.disposed) return
    this.steps.push({ op: 'resize', cols, rows })
    this.schedule()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.steps.length = 0
    this.term.dispose()
  }

  private schedule(): void {
    if (this.pumping || this.waiting) return
    this.pumping = true
    setImmediate(this.pump)
  }

  private work(): void {
    this.pumping = false
    const until = performance.now() + PUMP_SLICE_MS
    let done = 0
    while (done < this.steps.length && !this.disposed && !this.waiting) {
      const step = this.steps[done]!
      if (step.op !== 'write') {
        done++
        this.run = null // a cut or resize ends a run; the next one starts from the new state
        if (step.op === 'cut') step.ready(this.snapshot())
        else if (this.term.cols !== step.cols || this.term.rows !== step.rows) this.term.resize(step.cols, step.rows)
      } else if (!this.skipAhead(step, done)) {
        done++
        this.parse(step)
      }
      if (performance.now() >= until) break
    }
    this.steps.splice(0, done)
    if (this.steps.length > 0) this.schedule()
  }

  /** Parses one chunk whole. */
  private parse(step: Step & { op: 'write' }): void {
    if (this.internals) {
      this.internals.parse(step.data)
      if (this.run && !this.run.parsedTo(step.offset + step.data.length)) this.run = null
      step.parsed()
      return
    }
    this.waiting = true
    this.term.write(step.data, () => {
      this.waiting = false
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
      this.run = new TextRun(start, step.offset)
    }
    const run = this.run
    for (let i = at; i < this.steps.length && run.open; i++) {
      const next = this.steps[i]!
      if (next.op !== 'write') run.close()
      else if (next.offset >= run.scanned) run.scan(next.data)
    }
    const skip = run.skip(internals.evictingMoves())
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

  private snapshot(): Snapshot {
    return { cols: this.term.cols, rows: this.term.rows, data: this.serializer.serialize() }
  }
}
