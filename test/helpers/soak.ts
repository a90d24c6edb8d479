/**
 * Two sizes for the tests whose strength grows with their length (docs/testing.md): the size
 * `npm test` runs, which is already strict, and the longer one `npm run soak` runs
 * (TABULA_SOAK=1): more random seeds, more runs, a longer flood. Same assertions in both.
 */
export const SOAK = process.env.TABULA_SOAK === '1'

/** `fast` under `npm test`, `soak` under `npm run soak`. */
export function soakable(fast: number, soak: number): number {
  return SOAK ? soak : fast
}
