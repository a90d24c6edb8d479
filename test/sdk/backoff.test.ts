/**
 * The reconnect delays (client-sdk/src/backoff.ts): full jitter, each wait uniform in
 * [0, min(cap, base * 2^attempt)). Bounds are checked at the extremes of `random` and over many
 * real draws; spread, because a constant delay would bring every viewer back at once. And the
 * retry timer both channels share (Reconnector), on vitest's fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Reconnector, reconnectDelay, RECONNECT_BASE_MS, RECONNECT_CAP_MS } from '../../client-sdk/src/backoff.js'

/** Attempts past the point where the ceiling reaches the cap, and far beyond (no overflow). */
const ATTEMPTS = [0, 1, 2, 3, 5, 8, 12, 20, 100, 10_000]
const SAMPLES = 2_000
const ceilingOf = (attempt: number) => Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** attempt)

describe('reconnectDelay', () => {
  it.each(ATTEMPTS)('attempt %i: 0 <= delay < min(cap, base * 2^attempt)', (attempt) => {
    const ceiling = ceilingOf(attempt)
    expect(reconnectDelay(attempt, () => 0)).toBe(0)
    const largest = reconnectDelay(attempt, () => 1 - Number.EPSILON)
    expect(largest).toBeLessThan(ceiling)
    expect(largest).toBeGreaterThanOrEqual(ceiling - 1) // the whole window is used
    for (let i = 0; i < SAMPLES; i++) {
      const d = reconnectDelay(attempt)
      expect(Number.isInteger(d)).toBe(true)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThan(ceiling)
    }
  })

  it('never waits longer than the cap', () => {
    expect(reconnectDelay(Number.MAX_SAFE_INTEGER, () => 1 - Number.EPSILON)).toBeLessThan(RECONNECT_CAP_MS)
  })

  it('spreads: many draws for one attempt are not all equal, and cover the window', () => {
    for (const attempt of [1, 4, 20]) {
      const draws = Array.from({ length: SAMPLES }, () => reconnectDelay(attempt))
      expect(new Set(draws).size).toBeGreaterThan(1)
      // Uniform over the window: both halves get a fair share (the chance of failing by luck
      // with 2 000 draws is far below one in a billion).
      const lowHalf = draws.filter((d) => d < ceilingOf(attempt) / 2).length
      expect(lowHalf).toBeGreaterThan(SAMPLES / 4)
      expect(lowHalf).toBeLessThan((SAMPLES * 3) / 4)
    }
  })
})

describe('Reconnector', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  /** A reconnector whose waits are 1000 * (attempt + 1) ms, recording the attempts asked for. */
  function make() {
    const asked: number[] = []
    let connects = 0
    const reconnector = new Reconnector(
      () => connects++,
      (attempt) => (asked.push(attempt), 1000 * (attempt + 1)),
    )
    return { reconnector, asked, connects: () => connects }
  }

  it('connects once the wait for the attempt is over, counting failed attempts up', () => {
    const { reconnector, asked, connects } = make()
    reconnector.schedule()
    vi.advanceTimersByTime(999)
    expect(connects()).toBe(0)
    vi.advanceTimersByTime(1)
    expect(connects()).toBe(1)
    reconnector.schedule()
    vi.advanceTimersByTime(1999)
    expect(connects()).toBe(1)
    vi.advanceTimersByTime(1)
    expect(connects()).toBe(2)
    expect(asked).toEqual([0, 1])
  })

  it('starts over after a success', () => {
    const { reconnector, asked } = make()
    reconnector.schedule()
    vi.runAllTimers()
    reconnector.schedule()
    vi.runAllTimers()
    reconnector.succeeded()
    reconnector.schedule()
    expect(asked).toEqual([0, 1, 0])
  })

  it('holds one timer at a time, and a cancelled one never connects', () => {
    const { reconnector, connects } = make()
    reconnector.schedule()
    reconnector.schedule()
    vi.runAllTimers()
    expect(connects()).toBe(1)
    reconnector.schedule()
    reconnector.cancel()
    vi.runAllTimers()
    expect(connects()).toBe(1)
  })

  it('uses the jittered delays by default', () => {
    const reconnector = new Reconnector(() => {})
    const spy = vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON)
    try {
      reconnector.schedule()
      expect(vi.getTimerCount()).toBe(1)
      vi.advanceTimersByTime(RECONNECT_BASE_MS - 2)
      expect(vi.getTimerCount()).toBe(1)
      vi.advanceTimersByTime(1)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      spy.mockRestore()
    }
  })
})
