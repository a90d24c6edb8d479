/**
 * The daemon's copy of one session's screen: a headless xterm fed from the PTY (parsed in the
 * screen host, see screen-host.ts). It is the authority on what a late viewer sees (snapshot),
 * it paces the PTY (flow control), and it fans raw output out to live viewers.
 */
import type { IPty } from 'node-pty'
import type { CutOptions, ScreenHost, ScreenPort } from '../screen/screen-host.js'
import type { Snapshot } from '../screen/screen.js'
import { OutputChunk } from './output.js'
import { CsiClamp } from '../screen/clamp.js'

export type { Snapshot } from '../screen/screen.js'
export { OutputChunk } from './output.js'

/**
 * Flow control watermarks, in bytes of output written to the headless terminal but not yet
 * parsed by it. Above HIGH the PTY is paused (the program then blocks in write(2), as under a
 * slow real terminal); below LOW it is resumed. The parser (on its worker thread) is what paces
 * a flood, so it must never run dry: LOW is about 50 ms of parsing, enough to cover resuming the
 * PTY and the reader being descheduled on a busy machine, and HIGH − LOW is as much again, so
 * the PTY is paused rarely. Measured on a loaded 2-core machine, 1 MiB / 256 KiB left the parser
 * idle (backlog drained to zero) several times a second and flooded at 0.6–0.75× tmux; 4 MiB /
 * 2 MiB did not, and ran 0.9–1.0×. Together they bound the unparsed backlog to about HIGH + one
 * output batch however fast the program writes: far below xterm's own 50 MB discard limit, so
 * no byte is ever dropped from the screen.
 */
export const FLOW_HIGH_WATERMARK = 4 * 1024 * 1024
export const FLOW_LOW_WATERMARK = 2 * 1024 * 1024
/*
 * Output that costs more to parse per byte than text (its weight, parse-scheduler.ts) has both
 * watermarks divided by that weight, so the backlog is bounded in parse time (about what the
 * watermarks are for text) rather than bytes: a session whose output is held back by the
 * scheduler pauses its PTY after a few hundred KB instead of 4 MiB, so its program blocks
 * rather than the daemon buffering for it, and a cut (an attach) waits for that much parse at most.
 */

/**
 * PTY reads are merged into one chunk, which becomes one message to the parser and one frame per
 * viewer: a flood otherwise costs a message and a socket write per 4 KB read. A short read (an
 * echoed keystroke, a prompt, the end of a burst) goes out at the end of its turn (setImmediate
 * runs right after the I/O that delivered it), so it is not delayed; a long one (see
 * LONG_READ_BYTES) means more is on its way, and the chunk waits up to OUTPUT_HOLD_MS for it.
 * Past MAX_OUTPUT_BATCH_BYTES it goes out at once, which bounds a frame and keeps a chunk a
 * small share of the flow window.
 */
export const MAX_OUTPUT_BATCH_BYTES = 128 * 1024

/**
 * A read at least this long says the program writes faster than it is read: a Linux PTY hands
 * out at most 4,095 bytes per read, and a flood fills each one, while an echo or a prompt is far
 * shorter. One turn of the event loop holds only one such read, so without holding, a flood went
 * out as a 4 KB frame and a parser message per read; the socket write alone then took about 40 %
 * of the daemon's main thread (docs/performance.md, "What an embedder gets").
 */
export const LONG_READ_BYTES = 1024

/**
 * How long a chunk that ended with a long read waits for more (a timer: the thread sleeps or
 * reads meanwhile). 2 ms merges a flood of 30 MB/s into frames of about 60 KB (and one of 64 MB/s
 * or more into frames of MAX_OUTPUT_BATCH_BYTES), and is far below what a person notices on the
 * output of a program that writes that much (a browser paints every 16 ms).
 */
export const OUTPUT_HOLD_MS = 2

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
  /** Names the session in the screen host's messages (its key). */
  label?: string
}

export class Mirror {
  private readonly screen: ScreenPort
  /** Counts in control sequences cut to the screen's size, for the screen and every viewer (clamp.ts). */
  private readonly clamp: CsiClamp
  private readonly sinks = new Set<OutputSink>()
  private unparsed = 0
  private paused = false
  /** The screen's parse cost per byte against text (see the watermarks above). */
  private weight = 1
  private disposed = false
  /** Reads of this turn, not yet sent to the screen and the receivers. */
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private flushScheduled = false
  /** Set while a chunk that ended with a long read waits for more (OUTPUT_HOLD_MS). */
  private holdTimer: ReturnType<typeof setTimeout> | null = null
  private readonly flushSoon = () => {
    this.flushScheduled = false
    this.flush()
  }
  private readonly flushHeld = () => {
    this.holdTimer = null
    this.flush()
  }

  constructor(private readonly opts: MirrorOptions) {
    this.clamp = new CsiClamp(opts.cols, opts.rows)
    this.screen = opts.host.open(
      { cols: opts.cols, rows: opts.rows, scrollback: opts.scrollback },
      { parsed: (size, weight) => this.parsed(size, weight), title: (title) => !this.disposed && opts.onTitle(title) },
      opts.label,
    )
  }

  /** PTY output, in order. Goes to the screen and to every live receiver at the end of the turn. */
  write(raw: Uint8Array): void {
    if (this.disposed) return
    const data = this.clamp.filter(raw)
    if (data.length === 0) return
    this.unparsed += data.length
    if (!this.paused && this.unparsed > FLOW_HIGH_WATERMARK / this.weight) {
      this.paused = true
      safely(() => this.opts.pty.pause())
    }
    this.pending.push(data)
    this.pendingBytes += data.length
    if (this.pendingBytes >= MAX_OUTPUT_BATCH_BYTES) this.flush()
    else if (raw.length >= LONG_READ_BYTES) {
      // More is coming: wait for it, unless this turn already ends with a flush.
      if (!this.holdTimer && !this.flushScheduled) this.holdTimer = setTimeout(this.flushHeld, OUTPUT_HOLD_MS)
    } else if (!this.flushScheduled) {
      // A short read ends a burst: out at the end of this turn, held or not.
      this.flushScheduled = true
      setImmediate(this.flushSoon)
    }
  }

  /**
   * Sends the output batched so far to the screen and the receivers now. Anything that must be
   * ordered after it (a snapshot cut, a resize, an exit) calls this first.
   */
  flush(): void {
    if (this.holdTimer) {
      clearTimeout(this.holdTimer)
      this.holdTimer = null
    }
    if (this.pendingBytes === 0 || this.disposed) return
    // A PTY read can end inside a UTF-8 character; its last bytes wait for the next read, so a
    // chunk, and with it every frame and every snapshot cut, ends on a character boundary.
    const keep = incompleteUtf8Tail(this.pending)
    if (keep === this.pendingBytes) return
    const chunk = new OutputChunk(this.pending, this.pendingBytes - keep)
    const last = this.pending[this.pending.length - 1]!
    this.pending = keep === 0 ? [] : [last.subarray(last.length - keep)]
    this.pendingBytes = keep
    this.screen.write(chunk.bytes)
    for (const sink of this.sinks) sink(chunk)
  }

  /** Credit comes back when the parser has consumed a chunk, not when it was read. */
  private parsed(size: number, weight = 1): void {
    this.unparsed -= size
    this.weight = weight
    if (this.paused && this.unparsed < FLOW_LOW_WATERMARK / this.weight) {
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
   * `how`: what the cut is for and what it may leave out (CutOptions).
   */
  cut(ready: (snapshot: Snapshot) => void, how: CutOptions = {}): void {
    if (this.disposed) return
    this.flush()
    this.screen.cut((snapshot) => {
      if (!this.disposed) ready(snapshot)
    }, how)
  }

  /** Resizes the headless terminal at this point of the stream (in order with output). */
  resize(cols: number, rows: number): void {
    if (this.disposed) return
    this.flush()
    this.clamp.resize(cols, rows)
    this.screen.resize(cols, rows)
  }

  /** Unparsed backlog, for diagnostics. */
  get backlog(): number {
    return this.unparsed
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    if (this.holdTimer) clearTimeout(this.holdTimer)
    this.holdTimer = null
    this.sinks.clear()
    this.pending = []
    this.pendingBytes = 0
    if (this.paused) safely(() => this.opts.pty.resume())
    this.screen.dispose()
  }
}

/**
 * How many bytes at the end of `chunks` are the start of a UTF-8 character still missing its
 * continuation bytes (0 to 3). Only the last chunk is looked at: a read shorter than a character
 * is not worth the bookkeeping (xterm joins a split character anyway; viewers decode streaming).
 */
export function incompleteUtf8Tail(chunks: readonly Uint8Array[]): number {
  const last = chunks[chunks.length - 1]
  if (!last) return 0
  for (let back = 1; back <= Math.min(3, last.length); back++) {
    const byte = last[last.length - back]!
    if ((byte & 0xc0) === 0x80) continue // a continuation byte: look further back for the lead
    if (byte < 0xc0) return 0 // ASCII (or a stray byte): nothing is waiting
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
    return length > back ? back : 0
  }
  return 0
}

// pause/resume on a PTY whose process has gone throws in some node-pty versions; nothing to do then.
function safely(fn: () => void): void {
  try {
    fn()
  } catch {
    /* the PTY is gone */
  }
}
