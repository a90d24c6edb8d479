/**
 * Paces input to one PTY (docs/daemon.md "Hostile output"): a burst of INPUT_BURST_BYTES goes
 * to the terminal at once, anything past it at INPUT_RATE_BYTES_PER_SEC, in order. What waits
 * is counted in the session's input bound (MAX_QUEUED_INPUT_BYTES, daemon/src/live/input-bound.ts),
 * so a flood past it is refused rather than queued.
 *
 * Why: a program that does not read its input does not make the terminal push back. In the
 * kernel's line editing (canonical mode, the default of any program that never changed it: a
 * shell loop, `sleep`, a build) input past a line of 4 KiB is thrown away and every byte is
 * echoed first, so the terminal takes as much as the kernel can echo, working per byte on it
 * (measured: of 12.8 MB/s offered to such a session 3.5 MB/s were taken, costing about a core
 * of kernel time, and the throughput of eight other sessions fell to 0.57×; docs/performance.md
 * "A hostile session").
 * Pacing bounds that cost per session, whatever the program does. A typed key, a paste of
 * a few hundred KB and a burst of escape replies go through at once; only a flood is slowed.
 */
import { INPUT_BURST_BYTES, INPUT_RATE_BYTES_PER_SEC } from '@tabula/protocol'

/** How often waiting input is handed on; each turn writes what the rate allows since the last. */
export const INPUT_PACE_TICK_MS = 10

export interface InputPacerOptions {
  /** Bytes per second past the burst (INPUT_RATE_BYTES_PER_SEC). */
  rate?: number
  /** Bytes that may go at once (INPUT_BURST_BYTES). */
  burst?: number
}

export class InputPacer {
  private readonly rate: number
  private readonly burst: number
  /** Input not yet handed to the terminal, in order. */
  private readonly waiting: Buffer[] = []
  private waitingBytes = 0
  private tokens: number
  private at = performance.now()
  private timer: ReturnType<typeof setTimeout> | null = null
  private stopped = false

  constructor(
    private readonly write: (data: Buffer) => void,
    opts: InputPacerOptions = {},
  ) {
    this.rate = opts.rate ?? INPUT_RATE_BYTES_PER_SEC
    this.burst = opts.burst ?? INPUT_BURST_BYTES
    this.tokens = this.burst
  }

  /** Input waiting here, in bytes. */
  get queued(): number {
    return this.waitingBytes
  }

  /** Input to the program: written now when the budget allows, else queued behind what waits. */
  push(data: string | Uint8Array): void {
    if (this.stopped) return
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)
    if (bytes.length === 0) return
    this.waiting.push(bytes)
    this.waitingBytes += bytes.length
    if (!this.timer) this.pump()
  }

  /** Drops what waits and stops (the session ends). */
  stop(): void {
    this.stopped = true
    this.waiting.length = 0
    this.waitingBytes = 0
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private pump(): void {
    this.timer = null
    const now = performance.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000)
    this.at = now
    // Whole pieces while the budget lasts; the piece that does not fit is split (the terminal
    // takes bytes, so a cut inside a character is invisible to the program).
    while (this.waiting.length > 0 && this.tokens >= 1) {
      const head = this.waiting[0]!
      const take = Math.min(head.length, Math.floor(this.tokens))
      const piece = take === head.length ? head : head.subarray(0, take)
      if (take === head.length) this.waiting.shift()
      else this.waiting[0] = head.subarray(take)
      this.waitingBytes -= take
      this.tokens -= take
      this.write(piece)
    }
    if (this.waiting.length > 0 && !this.timer && !this.stopped) this.timer = setTimeout(() => this.pump(), INPUT_PACE_TICK_MS)
  }
}
