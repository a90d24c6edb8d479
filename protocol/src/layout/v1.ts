/**
 * API CONTRACT (issue 4): the one-shot conversion of a v1 layout row (SPEC §7 "Migration").
 */
import type * as Y from 'yjs'

export interface V1Conversion {
  /** Unique canonical keys in order of first occurrence, with their titles. */
  tabs: Array<{ key: string; title: string | null }>
  /** Tab entries in the v1 row. */
  before: number
  /** Tabs after deduplication. */
  after: number
}

export function convertV1Layout(_layoutJson: string): V1Conversion {
  throw new Error('layout.convertV1Layout is not implemented yet')
}

/** Writes a conversion into an empty document. Refuses (returns false) when the document is not empty. */
export function seedLayout(_doc: Y.Doc, _conversion: V1Conversion): boolean {
  throw new Error('layout.seedLayout is not implemented yet')
}
