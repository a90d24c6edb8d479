/**
 * Fractional indices for tab and pane order (docs/sync.md, "Ordering and jitter"). A position is a
 * string; lists sort by code units, ties by key. Moving an item rewrites one string, so two
 * replicas that move different items never conflict, and two that move the same item resolve by
 * last writer.
 *
 * fractional-indexing computes a key strictly between two others. On its own it is
 * deterministic: two replicas inserting into the same gap would compute the same key and the
 * tie would be broken only by the items' keys. A short random run appended to that key keeps
 * concurrent inserts apart, and the result is still a valid key for later calls.
 */
import { BASE_62_DIGITS, generateKeyBetween } from 'fractional-indexing'

/**
 * Random base-62 digits appended to every new order. Four digits give about 24 bits, so two
 * replicas inserting into the same gap at the same moment collide about once in 15 million;
 * when they do, the tie still breaks by key, so the lists stay identical on every replica.
 */
export const ORDER_JITTER_DIGITS = 4

/** The order the first group and the first seeded tab get: a fixed value so replicas agree. */
export const FIRST_ORDER = 'a0'

/** True when `value` is a key fractional-indexing accepts (a reader tolerates others, a writer never makes them). */
export function isOrderKey(value: unknown): value is string {
  if (typeof value !== 'string' || value === '') return false
  try {
    generateKeyBetween(value, null)
    return true
  } catch {
    return false
  }
}

/** Code-unit comparison, which is what fractional indices are designed for (not localeCompare). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Sorts by order, then by id: the one display order every replica computes. */
export function compareByOrder(a: { order: string; id: string }, b: { order: string; id: string }): number {
  return compareStrings(a.order, b.order) || compareStrings(a.id, b.id)
}

/**
 * A fractional index strictly between `a` and `b` (null = open end), with random jitter.
 * Throws when `a >= b` or either is not a valid key: a caller must pass real neighbours.
 */
export function orderBetween(a: string | null, b: string | null): string {
  if (a !== null && !isOrderKey(a)) throw new Error(`orderBetween: "${a}" is not a fractional index`)
  if (b !== null && !isOrderKey(b)) throw new Error(`orderBetween: "${b}" is not a fractional index`)
  if (a !== null && b !== null && a >= b) throw new Error(`orderBetween: "${a}" is not before "${b}"`)
  let base = generateKeyBetween(a, b)
  // `base` may be a prefix of `b` (between "a4" and "a5V" the library answers "a5"), and then
  // base + jitter could pass `b`. Moving `base` closer to `b` ends that within a step or two,
  // because each step makes the result longer than the common prefix.
  for (;;) {
    const jittered = base + randomRun(ORDER_JITTER_DIGITS)
    if (b === null || jittered < b) return jittered
    base = generateKeyBetween(base, b)
  }
}

/** `count` random base-62 digits, the last one never "0" (a key may not end in zero). */
function randomRun(count: number): string {
  const bytes = new Uint8Array(count)
  globalThis.crypto.getRandomValues(bytes)
  let run = ''
  for (let i = 0; i < count; i++) {
    const last = i === count - 1
    // A byte modulo 62 is uneven by a few percent: irrelevant for jitter, which only needs
    // concurrent inserts to differ.
    const digit = last ? 1 + (bytes[i]! % 61) : bytes[i]! % 62
    run += BASE_62_DIGITS[digit]
  }
  return run
}
