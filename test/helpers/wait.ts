/**
 * The one way a test waits (docs/testing.md): for an outcome a person would see, never for a
 * stretch of time. Built on vitest's own `vi.waitFor`, so it also advances fake timers when a
 * test uses them. The deadline only guards against a hang; it is not a performance claim.
 */
import { vi } from 'vitest'

/** How long a wait may take before the test fails with what it was waiting for. */
export const UNTIL_TIMEOUT_MS = 15_000
/** How often the condition is looked at again. */
export const UNTIL_INTERVAL_MS = 20

type Falsy = false | null | undefined | 0 | ''

export interface UntilOptions<T> {
  timeoutMs?: number
  intervalMs?: number
  /** The condition the value must meet, when a falsy value (0, '', false) can be the answer. */
  ok?: (value: T) => boolean
  /** Why waiting longer is pointless (a process it waits on exited): fails at once with this. */
  giveUp?: () => string | undefined
}

/**
 * Resolves with the first value of `probe` that is truthy (or meets `options.ok`). `probe` may be
 * async and may throw while the outcome is not there yet. On timeout the error names `what` and
 * shows the last value or error seen.
 */
export function until<T>(what: string, probe: () => T | Promise<T>, options: UntilOptions<T> & { ok: (value: T) => boolean }): Promise<T>
export function until<T>(
  what: string,
  probe: () => T | Falsy | Promise<T | Falsy>,
  options?: number | Omit<UntilOptions<T>, 'ok'>,
): Promise<T>
export async function until<T>(what: string, probe: () => T | Promise<T>, options: number | UntilOptions<T> = {}): Promise<T> {
  const {
    timeoutMs = UNTIL_TIMEOUT_MS,
    intervalMs = UNTIL_INTERVAL_MS,
    ok = Boolean,
    giveUp,
  } = typeof options === 'number' ? { timeoutMs: options } : options
  let abandoned: string | undefined
  const value = await vi.waitFor(
    async () => {
      abandoned = giveUp?.()
      if (abandoned !== undefined) return undefined as T
      let value: T
      try {
        value = await probe()
      } catch (error) {
        throw new Error(`timed out waiting for ${what}; last error: ${String(error)}`)
      }
      if (!ok(value)) throw new Error(`timed out waiting for ${what}; last seen: ${show(value)}`)
      return value
    },
    { timeout: timeoutMs, interval: intervalMs },
  )
  if (abandoned !== undefined) throw new Error(`gave up waiting for ${what}: ${abandoned}`)
  return value
}

function show(value: unknown): string {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : text.length > 500 ? `${text.slice(0, 500)}…` : text
  } catch {
    return String(value)
  }
}
