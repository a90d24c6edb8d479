/**
 * Turns "put this tab at position i of that group" into a layout write. The layout orders by
 * fractional indices, so a position becomes a pair of neighbours: the tabs shown just before and
 * after the target slot. Only shown tabs count; hidden entries (no live key) sit wherever they
 * sit and never influence what a user sees.
 */
import { placeTab, type LayoutView } from '@tabula/protocol'
import type * as Y from 'yjs'
import type { Tab } from './api.js'

/**
 * Places `key` at `index` among the tabs shown in `group` (the end when index is undefined or
 * past the end). Call inside a transaction.
 */
export function placeAt(doc: Y.Doc, layout: LayoutView, tabs: readonly Tab[], key: string, group: string, index?: number): void {
  const inGroup = tabs.filter((t) => t.group === group)
  materialize(doc, layout, inGroup)
  const others = inGroup.filter((t) => t.key !== key)
  const at = index === undefined ? others.length : Math.max(0, Math.min(index, others.length))
  const after = others[at - 1]?.key ?? null
  const before = others[at]?.key ?? null
  try {
    placeTab(doc, key, group, after, before)
  } catch {
    // Neighbours with equal orders (a jitter collision, ties broken by key) leave no gap
    // between them. Re-spread the group's shown tabs, then place again.
    respread(
      doc,
      group,
      others.map((t) => t.key),
    )
    placeTab(doc, key, group, after, before)
  }
}

/**
 * Shown tabs of a group that have no layout entry yet (live keys appended at the end of the
 * first group) get one, in the order they are shown, so they can serve as neighbours.
 */
function materialize(doc: Y.Doc, layout: LayoutView, inGroup: readonly Tab[]): void {
  let previous: string | null = null
  for (const tab of inGroup) {
    if (!layout.placements.has(tab.key)) placeTab(doc, tab.key, tab.group, previous, null)
    previous = tab.key
  }
}

function respread(doc: Y.Doc, group: string, keys: readonly string[]): void {
  let previous: string | null = null
  for (const key of keys) {
    placeTab(doc, key, group, previous, null)
    previous = key
  }
}
