/**
 * The one backoff of the codebase: the wait before retry `attempt` (0 for the first) doubles
 * from `baseMs` up to `capMs`. Every retry loop uses it: the SDK's reconnects (with full jitter on
 * top, client-sdk/src/backoff.ts), the daemon's state writes, the sync server's reloads and
 * unloads. Pure, browser-safe.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  // Past 2^16 the product only overflows towards Infinity; the cap has long been reached.
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16))
}
