/**
 * The daemon's copy of one session's screen: a headless xterm fed from the PTY (parsed in the
 * screen host, see screen-host.ts). It is the authority on what a late viewer sees (snapshot),
 * it paces the PTY (flow control), and it fans raw output out to live viewers.
 */
import type { IPty } from 'node-pty'
import type { ScreenHost, ScreenPort } from './screen-host.js'
import type { Snapshot } from './screen.js'

export type { Snapshot } from './screen.js'

/**
 * Flow control watermarks, in UTF-16 code units written to the headless terminal but not yet
 * parsed by it. Above HIGH the PTY is paused (the program then blocks in write(2), as under a
 * slow real terminal); below LOW it is resumed. HIGH is large enough that the parser always has
 * several 12 ms slices of work queued, so a flood is never limited by the pause/resume round
 * trip; LOW leaves a slice in hand when the PTY resumes. Together they bound the unparsed
 * backlog to about HIGH + one PTY read (~2 MB of strings) however fast the program writes: far
 * below xterm's own 50 MB discard limit, so no byte is ever dropped from the screen.
 */
export const FLOW_HIGH_WATERMARK = 1024 * 1024
export const FLOW_LOW_WATERMARK = 256 * 1024

/** Receives every chunk of output, as UTF-8 bytes encoded once for all receivers. */
export type OutputSink = (bytes: Buffer) => void

export interface MirrorOptions {
  cols: number
  rows: number
  scrollback: number
  /** The PTY to pace. Only pause() and resume() are used. */
  pty: Pick<IPty, 'pause' | 'resume'>
  host: ScreenHost
  onTitle(title: string): void
}

export class Mirror {
  private readonly screen: ScreenPort
  private readonly sinks = new Set<OutputSink>()
  private unparsed = 0
  private paused = false
  private disposed = false

  constructor(private readonly opts: MirrorOptions) {
    this.screen = opts.host.open(
      { cols: opts.cols, rows: opts.rows, scrollback: opts.scrollback },
      { parsed: (size) => this.parsed(size), title: (title) => !this.disposed && opts.onTitle(title) },
    )
  }

  /** PTY output, in order. Goes to the screen and, at once, to every live receiver. */
  write(data: string): void {
    if (this.disposed) return
    this.unparsed += data.length
    this.screen.write(data)
    if (!this.paused && this.unparsed > FLOW_HIGH_WATERMARK) {
      this.paused = true
      safely(() => this.opts.pty.pause())
    }
    if (this.sinks.size === 0) return
    const bytes = Buffer.from(data, 'utf8')
    for (const sink of this.sinks) sink(bytes)
  }

  /** Credit comes back when the parser has consumed a chunk, not when it was read. */
  private parsed(size: number): void {
    this.unparsed -= size
    if (this.paused && this.unparsed < FLOW_LOW_WATERMARK) {
      this.paused = false
      if (!this.disposed) safely(() => this.opts.pty.resume())
    }
  }

  subscribe(sink: OutputSink): () => void {
    this.sinks.add(sink)
    return () => this.sinks.delete(sink)
  }

  /**
   * Calls `ready` with a snapshot taken exactly at this point of the output stream: it holds
   * every chunk written before this call and none written after. Chunks written after reach
   * subscribers through `write`, so a receiver that holds them until `ready` and then plays
   * them gets the stream with no gap and no repeat.
   */
  cut(ready: (snapshot: Snapshot) => void): void {
    if (this.disposed) return
    this.screen.cut((snapshot) => {
      if (!this.disposed) ready(snapshot)
    })
  }

  /** Resizes the headless terminal at this point of the stream (in order with output). */
  resize(cols: number, rows: number): void {
    if (!this.disposed) this.screen.resize(cols, rows)
  }

  /** Unparsed backlog, for diagnostics. */
  get backlog(): number {
    return this.unparsed
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.sinks.clear()
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
