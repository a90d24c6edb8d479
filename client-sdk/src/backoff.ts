/**
 * The SDK's one reconnect policy, for both channels (the daemon's live channel and the sync
 * socket). Delays use "full jitter": each wait is uniform in [0, min(cap, base * 2^attempt)], so
 * when a server restarts under a thousand viewers their retries spread over the whole window
 * instead of arriving together (docs/sdk.md, "Offline and reconnecting").
 */
import { backoffDelay } from '@tabula/protocol'

export const RECONNECT_BASE_MS = 250
export const RECONNECT_CAP_MS = 10_000

/** The wait before reconnect attempt `attempt` (0 for the first after a success). Pure. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffDelay(attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS))
}

/**
 * The retry timer of one connection: `schedule` waits `delay(attempt)` and then calls `connect`,
 * each failed attempt counting up until `succeeded` starts over. One timer at a time.
 */
export class Reconnector {
  #attempt = 0
  #timer: ReturnType<typeof setTimeout> | null = null
  readonly #connect: () => void
  readonly #delay: (attempt: number) => number

  constructor(connect: () => void, delay: (attempt: number) => number = reconnectDelay) {
    this.#connect = connect
    this.#delay = delay
  }

  schedule(): void {
    this.cancel()
    this.#timer = setTimeout(
      () => {
        this.#timer = null
        this.#connect()
      },
      this.#delay(this.#attempt++),
    )
  }

  /** The connection is up: the next drop waits the shortest again. */
  succeeded(): void {
    this.#attempt = 0
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }
}
