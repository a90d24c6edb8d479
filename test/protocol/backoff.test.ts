/**
 * The one backoff (protocol/src/backoff.ts) every retry loop uses: doubling from the base, held
 * at the cap, and finite for any attempt count a long outage can reach.
 */
import { expect, it } from 'vitest'
import { backoffDelay } from '@tabula/protocol'

it('doubles from the base and stays at the cap', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 200, 10_000))).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000])
})

it('stays at the cap, finite, however many attempts failed', () => {
  for (const attempt of [16, 17, 1_000, 1e9, Number.MAX_SAFE_INTEGER]) expect(backoffDelay(attempt, 100, 5_000)).toBe(5_000)
})

it('a base above the cap waits the cap', () => {
  expect(backoffDelay(0, 60_000, 5_000)).toBe(5_000)
})
