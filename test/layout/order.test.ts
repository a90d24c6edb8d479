import { soakable } from '../helpers/soak.js'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { generateKeyBetween } from 'fractional-indexing'
import { orderBetween, isOrderKey } from '@tabula/protocol'

function sortedIndex(sorted: string[], value: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

describe('orderBetween', () => {
  it('gives a valid key strictly between its neighbours', () => {
    const a = orderBetween(null, null)
    const b = orderBetween(a, null)
    const mid = orderBetween(a, b)
    expect(a < mid && mid < b).toBe(true)
    expect([a, b, mid].every(isOrderKey)).toBe(true)
  })

  it('stays below a neighbour that the plain midpoint is a prefix of', () => {
    // Between "a4" and "a5V" the library answers "a5": jitter appended naively would pass "a5V".
    expect(generateKeyBetween('a4', 'a5V')).toBe('a5')
    for (let i = 0; i < 200; i++) {
      const k = orderBetween('a4', 'a5V')
      expect(k > 'a4' && k < 'a5V').toBe(true)
    }
  })

  it('two replicas inserting into the same gap get different keys', () => {
    // Pairs, as two replicas would draw them: with ~24 bits of jitter a pair collides about once
    // in 14 million, so 1,000 pairs fail about once in 14,000 runs. (1,000 draws in one set would
    // collide a few runs in a hundred: the birthday bound, which is not the claim.)
    // biome-ignore lint/suspicious/noSelfCompare: two calls with the same arguments, compared to find a collision
    const collisions = Array.from({ length: 1000 }, () => orderBetween('a0', 'a1') === orderBetween('a0', 'a1')).filter(Boolean)
    expect(collisions).toEqual([])
  })

  it('refuses neighbours out of order or malformed', () => {
    expect(() => orderBetween('a1', 'a0')).toThrow(/not before/)
    expect(() => orderBetween('a1', 'a1')).toThrow(/not before/)
    expect(() => orderBetween('zz', null)).toThrow(/not a fractional index/)
  })

  it.each([
    ['always right after the first item', (keys: string[]) => [keys[0]!, keys[1] ?? null] as const],
    ['always right before the last item', (keys: string[]) => [keys[keys.length - 2] ?? null, keys[keys.length - 1]!] as const],
    ['always at the start', (keys: string[]) => [null, keys[0]!] as const],
    ['always at the end', (keys: string[]) => [keys[keys.length - 1]!, null] as const],
  ])('keeps working after 5,000 insertions %s', (_name, gap) => {
    const keys = [orderBetween(null, null)]
    keys.push(orderBetween(keys[0]!, null))
    for (let i = 0; i < 5000; i++) {
      const [lo, hi] = gap(keys)
      const k = orderBetween(lo, hi)
      keys.splice(sortedIndex(keys, k), 0, k)
    }
    expect(new Set(keys).size).toBe(keys.length)
    expect([...keys].sort()).toEqual(keys)
    expect(keys.every(isOrderKey)).toBe(true)
    // Halving the same gap grows keys by about one base-62 digit per four to six halvings:
    // linear, never a wall (naive schemes run out of precision after a few dozen).
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(2000)
  })

  it('any sequence of insertions keeps the list strictly sorted and every key valid', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 300 }), (positions) => {
        const keys: string[] = []
        for (const p of positions) {
          const at = p % (keys.length + 1)
          keys.splice(at, 0, orderBetween(keys[at - 1] ?? null, keys[at] ?? null))
        }
        for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false
        return keys.every(isOrderKey)
      }),
      { seed: 4242, numRuns: soakable(200, 3_000) },
    )
  })
})
