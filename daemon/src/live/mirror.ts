/**
 * The daemon's copy of one session's screen: a headless xterm fed from the PTY (parsed in the
 * screen host, see screen-host.ts). It is the authority on what a late viewer sees (snapshot),
 * it paces the PTY (flow control), and it fans raw output out to live viewers.
 */
import type { IPty } from 'node-pty'
import type { ScreenHost, ScreenPort } from './screen-host.js'
import type { Snapshot } from './screen.js'
import { OutputChunk } from './output.js'

export type { Snapshot } from './screen.js'
export { OutputChunk } from './output.js'

/**
 * Flow control watermarks, in bytes of output written to the headless terminal but not yet
 * parsed by it. Above HIGH the PTY is paused (the program then blocks in write(2), as under a
 * slow real terminal); below LOW it is resumed. HIGH is large enough that the parser always has
 * several 12 ms slices of work queued, so a flood is never limited by the pause/resume round
 * trip; LOW leaves a slice in hand when the PTY resumes. Together they bound the unparsed
 * backlog to about HIGH + one output batch however fast the program writes: far below xterm's
 * own 50 MB discard limit, so no byte is ever dropped from the screen.
 */
const WM = /wm:([0-9.]+):([0-9.]+)/.exec(process.env.TABULA_EXP ?? '')
export const FLOW_HIGH_WATERMARK = WM ? Number(WM[1]) * 1024 * 1024 : 1024 * 1024
export const FLOW_LOW_WATERMARK = WM ? Number(WM[2]) * 1024 * 1024 : 256 * 1024

/**
 * PTY reads that arrive in one turn of the event loop are merged into one chunk, which becomes
 * one message to the parser and one frame per viewer: a flood otherwise costs a message and a
 * socket write per 4 KB read. The chunk goes out at the end of the turn (setImmediate runs right
 * after the I/O that delivered the reads), so an echoed keystroke is not delayed; past this size
 * it goes out at once, which bounds a frame and keeps a chunk a small share of the flow window.
 */
export const MAX_OUTPUT_BATCH_BYTES = 128 * 1024

/** Receives every chunk of output, once, shared with every other receiver (do not modify it). */
export type OutputSink = (chunk: OutputChunk) => void

export interface MirrorOptions {
  cols: number
  rows: number
  scrollback: number
  /** The PTY to pace. Only pause() and resume() are used. */
  pty: Pick<IPty, 'pause' | 'resume'>
  host: ScreenHost
  onTitle(title: string): void
}

const COALESCE = process.env.TABULA_EXP?.includes('co')
const COALESCE_MS = 2
const DBG = { pauses: 0, pausedAt: 0, pausedMs: 0, credits: 0, empty: 0, flushes: 0 }
if (process.env.TABULA_EXP) setInterval(() => { if (DBG.credits) process.stderr.write(JSON.stringify(DBG) + '\n'); DBG.pauses = DBG.pausedMs = DBG.credits = DBG.empty = DBG.flushes = 0 }, 1000).unref()
export class Mirror {
  private readonly screen: ScreenPort
  private readonly sinks = new Set<OutputSink>()
  private unparsed = 0
  private paused = false
  private disposed = false
  /** Reads of this turn, not yet sent to the screen and the receivers. */
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private flushScheduled = false
  private lastFlush = 0
  private lastFlushBytes = 0
  private readonly flushSoon = () => {
    this.flushScheduled = false
    this.flush()
  }

  constructor(private readonly opts: MirrorOptions) {
    this.screen = opts.host.open(
      { cols: opts.cols, rows: opts.rows, scrollback: opts.scrollback },
      { parsed: (size) => this.parsed(size), title: (title) => !this.disposed && opts.onTitle(title) },
    )
  }

  /** PTY output, in order. Goes to the screen and to every live receiver at the end of the turn. */
  write(data: Uint8Array): void {
    if (this.disposed || data.length === 0) return
    this.unparsed += data.length
    if (!this.paused && this.unparsed > FLOW_HIGH_WATERMARK) {
      DBG.pauses++; DBG.pausedAt = performance.now()
      this.paused = true
      safely(() => this.opts.pty.pause())
    }
    this.pending.push(data)
    this.pendingBytes += data.length
    if (this.pendingBytes >= MAX_OUTPUT_BATCH_BYTES) this.flush()
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      if (COALESCE && this.lastFlushBytes >= 8192 && performance.now() - this.lastFlush < COALESCE_MS) setTimeout(this.flushSoon, COALESCE_MS)
      else setImmediate(this.flushSoon)
    }
  }

  /**
   * Sends the output batched so far to the screen and the receivers now. Anything that must be
   * ordered after it (a snapshot cut, a resize, an exit) calls this first.
   */
  flush(): void {
    if (this.pendingBytes === 0 || this.disposed) return
    DBG.flushes++
    this.lastFlush = performance.now()
    this.lastFlushBytes = this.pendingBytes
    const chunk = new OutputChunk(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    this.screen.write(chunk.bytes)
    for (const sink of this.sinks) sink(chunk)
  }

  /** Credit comes back when the parser has consumed a chunk, not when it was read. */
  private parsed(size: number): void {
    this.unparsed -= size
    DBG.credits++
    if (this.unparsed === 0) DBG.empty++
    if (this.paused && this.unparsed < FLOW_LOW_WATERMARK) {
      DBG.pausedMs += performance.now() - DBG.pausedAt
      this.paused = false
      if (!this.disposed) safely(() => this.opts.pty.resume())
    }
  }

  /** Receives output from this point of the stream on (what was batched before goes to the others). */
  subscribe(sink: OutputSink): () => void {
    this.flush()
    this.sinks.add(sink)
    return () => this.sinks.delete(sink)
  }

  /**
   * Calls `ready` with a snapshot taken exactly at this point of the output stream: it holds
   * every chunk written before this call and none written after. Output still batched is
   * flushed first, so subscribers receive it *during* this call: a receiver that wants the cut
   * calls `flush()` before it starts holding output, holds what arrives from then on until
   * `ready`, and then plays it, and so gets the stream with no gap and no repeat.
   */
  cut(ready: (snapshot: Snapshot) => void): void {
    if (this.disposed) return
    this.flush()
    this.screen.cut((snapshot) => {
      if (!this.disposed) ready(snapshot)
    })
  }

  /** Resizes the headless terminal at this point of the stream (in order with output). */
  resize(cols: number, rows: number): void {
    if (this.disposed) return
    this.flush()
    this.screen.resize(cols, rows)
  }

  /** Unparsed backlog, for diagnostics. */
  get backlog(): number {
    return this.unparsed
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.sinks.clear()
    this.pending = []
    this.pendingBytes = 0
    if (this.paused) safely(() => this.opts.pty.resume())
    this.screen.dispose()
  }
}

// pause/resume on a PTY whose process has gone throws in some node-pty versions; nothing to do then.
function safely(fn: () => void): void {
  try {
    fn()
  } catch {
    /* the PTY is gone */
  }
}
