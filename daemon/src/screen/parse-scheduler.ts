/**
 * Which screen of a worker parses next (docs/daemon.md "Hostile output"). Every screen with work
 * waiting is ready; the scheduler runs one slice of one ready screen per turn of the event loop,
 * measures it, and charges the screen for it:
 *
 * - **Cost.** A screen's cost is its recent parse time per byte of output (a decaying average,
 *   COST_DECAY, starting from COST_PRIOR_BYTES of text), and its weight that cost over SCREEN_TEXT_PARSE_MS_PER_MIB (what plain text
 *   costs), from 1 up to SCREEN_COST_WEIGHT_MAX. A slice is charged its measured time times the
 *   weight: output that costs far more to parse per byte than text counts for more.
 * - **Fair among the waiting.** The ready screen charged least so far (its virtual time) runs
 *   next, so screens share the worker's work in inverse proportion to their weights: beside a
 *   text flood, a screen of weight 16 gets a seventeenth of the worker. A screen that was idle
 *   rejoins no further back than SCREEN_PARSE_BURST_MS behind the others (it cannot bank idle
 *   time). A screen alone has the worker to itself, up to the cap below.
 * - **Capped by cost.** Each screen also has a bucket of weighted time filled at wall-clock speed
 *   up to SCREEN_PARSE_BURST_MS: a screen of weight w parses for at most 1/w of the worker's wall
 *   time even when alone, and text (weight 1) is never held. The worker's time is a core taken
 *   from the daemon's main thread and the other workers; costly output may not take it whole.
 * - **A viewer waiting is never held:** a screen with a cut (attach, resync) or a resize queued
 *   runs first, past its cap.
 *
 * A screen held back gets no parse, so its credit does not come back and its PTY is paused by flow
 * control (mirror.ts, which also lowers its watermarks by the weight): the program blocks.
 */
import { SCREEN_COST_WEIGHT_MAX, SCREEN_TEXT_PARSE_MS_PER_MIB } from '@tabula/protocol'

/** The burst a screen may spend at once, and how far behind an idle screen may rejoin (weighted ms). */
export const SCREEN_PARSE_BURST_MS = 250
/** Per slice, the weight of the past in a screen's cost (parse time and bytes both decay by it). */
export const COST_DECAY = 0.9
/**
 * A new screen counts as having parsed this much text (at SCREEN_TEXT_PARSE_MS_PER_MIB) until its
 * own slices outweigh it: one slow first slice (a fresh worker, while V8 compiles the parser)
 * does not weigh a text flood as costly output, and costly output is still recognised within
 * its first slices.
 */
export const COST_PRIOR_BYTES = 64 * 1024

const MS_PER_BYTE_OF_TEXT = SCREEN_TEXT_PARSE_MS_PER_MIB / (1024 * 1024)

/** The clock and the event loop the scheduler runs on: the worker's own, or a test's virtual ones. */
export interface SchedulerLoop {
  now(): number
  /** Runs `fn` on a later turn of the event loop, after pending I/O. */
  immediate(fn: () => void): void
  timeout(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const WORKER_LOOP: SchedulerLoop = {
  now: () => performance.now(),
  immediate: (fn) => void setImmediate(fn),
  timeout: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface Task {
  /** One slice of the screen's work; returns the bytes of output it finished (parsed or skipped). */
  run(): number
  /** True when a viewer waits on this screen (a cut or a resize is queued). */
  urgent(): boolean
}

interface Account {
  vtime: number
  tokens: number
  at: number
  ms: number
  bytes: number
  weight: number
}

export class ParseScheduler<T extends Task> {
  private readonly ready = new Set<T>()
  private readonly accounts = new WeakMap<T, Account>()
  private scheduled: 'immediate' | 'timer' | null = null
  private timer: unknown = null
  /** Virtual time of the last slice run: where an idle screen rejoins when nothing else waits. */
  private clock = 0
  private readonly dispatch = () => this.runOne()

  constructor(private readonly loop: SchedulerLoop = WORKER_LOOP) {}

  private now(): number {
    return this.loop.now()
  }

  /** The screen's current weight (1 for text, up to SCREEN_COST_WEIGHT_MAX). */
  weight(task: T): number {
    return this.accounts.get(task)?.weight ?? 1
  }

  /** The screen has work waiting: it runs when its turn comes. */
  wake(task: T): void {
    if (this.ready.has(task)) return
    const account = this.account(task)
    let floor = this.clock
    for (const other of this.ready) floor = Math.min(floor, this.account(other).vtime)
    account.vtime = Math.max(account.vtime, floor - SCREEN_PARSE_BURST_MS)
    this.ready.add(task)
    if (this.scheduled === 'immediate') return
    if (this.timer) this.loop.clear(this.timer)
    this.timer = null
    this.scheduled = 'immediate'
    this.loop.immediate(this.dispatch)
  }

  /** Forgets a screen (disposed). */
  drop(task: T): void {
    this.ready.delete(task)
  }

  private account(task: T): Account {
    let account = this.accounts.get(task)
    if (!account) {
      const prior = { ms: COST_PRIOR_BYTES * MS_PER_BYTE_OF_TEXT, bytes: COST_PRIOR_BYTES }
      account = { vtime: this.clock, tokens: SCREEN_PARSE_BURST_MS, at: this.now(), ...prior, weight: 1 }
      this.accounts.set(task, account)
    }
    return account
  }

  private runOne(): void {
    this.scheduled = null
    const now = this.now()
    let best: T | null = null
    let bestKey = Infinity
    let soonest = Infinity
    for (const task of this.ready) {
      const account = this.account(task)
      // Refilled by the wall time since it was last looked at, its own slices included: a screen
      // of weight 1 refills exactly what it spends, so text is never held.
      account.tokens = Math.min(SCREEN_PARSE_BURST_MS, account.tokens + (now - account.at))
      account.at = now
      const urgent = task.urgent()
      if (!urgent && account.tokens < 0) {
        soonest = Math.min(soonest, -account.tokens)
        continue
      }
      const key = urgent ? -Infinity : account.vtime
      if (key < bestKey) [best, bestKey] = [task, key]
    }
    if (!best) {
      if (this.ready.size > 0) {
        this.scheduled = 'timer'
        this.timer = this.loop.timeout(() => {
          this.timer = null
          this.runOne()
        }, Math.ceil(soonest))
      }
      return
    }
    this.ready.delete(best)
    const account = this.account(best)
    const start = this.now()
    let bytes = 0
    try {
      bytes = best.run()
    } finally {
      const end = this.now()
      const ms = end - start
      // A slice that finished no output (a cut's serialization, a resize) says nothing of what the
      // output costs: it is charged at the weight the screen has.
      if (bytes > 0) {
        account.ms = account.ms * COST_DECAY + ms
        account.bytes = account.bytes * COST_DECAY + bytes
      }
      if (account.bytes > 0)
        account.weight = Math.min(SCREEN_COST_WEIGHT_MAX, Math.max(1, account.ms / account.bytes / MS_PER_BYTE_OF_TEXT))
      const charge = ms * account.weight
      account.vtime += charge
      account.tokens -= charge
      this.clock = account.vtime
      if (this.ready.size > 0 && this.scheduled === null) {
        this.scheduled = 'immediate'
        this.loop.immediate(this.dispatch)
      }
    }
  }
}
