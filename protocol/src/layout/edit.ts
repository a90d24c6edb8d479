/**
 * API CONTRACT (issue 4 implements; issue 5 consumes). Every write to a layout document goes
 * through these functions, each inside one Y transaction so a remote replica never sees half.
 * `index`-style placement is done by the SDK, which knows which tabs are visible: it passes the
 * neighbours' keys and this module computes an order between them.
 */
import type * as Y from 'yjs'
import type { LayoutView } from './schema.js'

const pending = (name: string): never => {
  throw new Error(`layout.${name} is not implemented yet`)
}

/** The group every document starts with. A fixed id, so replicas that create it concurrently agree. */
export const DEFAULT_GROUP = 'main'

/** Sets meta.schema = 2 and the default group when missing. Safe to call on every replica. */
export function initLayout(_doc: Y.Doc): void {
  pending('initLayout')
}

/** True when the document has never been written (no meta, tabs or panes): the migration's "does it exist". */
export function isEmptyLayout(_doc: Y.Doc): boolean {
  return pending('isEmptyLayout')
}

/** The repaired layout (SPEC §7 repair rules), computed without writing to the document. */
export function readLayout(_doc: Y.Doc): LayoutView {
  return pending('readLayout')
}

/**
 * Places `key` in `group` between two neighbours (either may be null: start/end of the group).
 * Creates the entry when missing; keeps its title when it exists.
 */
export function placeTab(_doc: Y.Doc, _key: string, _group: string, _after: string | null, _before: string | null): void {
  pending('placeTab')
}

/** Sets (or with null clears) the custom title. Creates an entry at the end of the first group when missing. */
export function setTitle(_doc: Y.Doc, _key: string, _title: string | null): void {
  pending('setTitle')
}

export function removeTab(_doc: Y.Doc, _key: string): void {
  pending('removeTab')
}

/** A new empty group beside `besideGroup` (or at the root); returns its id. */
export function createGroup(_doc: Y.Doc, _besideGroup?: string): string {
  return pending('createGroup')
}

/** Splits `group` in direction `dir`; the new sibling group is returned. */
export function splitGroup(_doc: Y.Doc, _group: string, _dir: 'row' | 'column'): string {
  return pending('splitGroup')
}

/** Sets a pane node's share of its parent split (0..1). */
export function resizePane(_doc: Y.Doc, _nodeId: string, _size: number): void {
  pending('resizePane')
}

/** Removes a group; its tabs fall into the first remaining group (they are never dropped). */
export function closeGroup(_doc: Y.Doc, _group: string): void {
  pending('closeGroup')
}

/** A fractional index strictly between a and b (null = open end), with random jitter. */
export function orderBetween(_a: string | null, _b: string | null): string {
  return pending('orderBetween')
}
