/**
 * Reconnect delays with "full jitter": each wait is uniform in [0, min(cap, base * 2^attempt)].
 * When a server restarts under a thousand viewers, their retries spread over the whole window
 * instead of arriving together.
 */
export const RECONNECT_BASE_MS = 250
export const RECONNECT_CAP_MS = 10_000

export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16))
  return Math.floor(random() * ceiling)
}
