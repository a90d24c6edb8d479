/**
 * Tab edits as a viewer expresses them (a position among the tabs it sees), turned into layout
 * writes. Each runs in one transaction. The workspace view calls these; so does the convergence
 * simulation, which is how it tests exactly the code viewers run.
 */
import { removeTab, setTitle, type LayoutView } from '@tabula/protocol'
import type * as Y from 'yjs'
import type { MoveTarget, Tab } from './api.js'
import { placeAt } from './placement.js'

/** What an edit needs to know about what the viewer sees. */
export interface SeenState {
  layout: LayoutView
  tabs: readonly Tab[]
}

/**
 * Moves a shown tab; returns false (and writes nothing) when `key` is not a tab here or the
 * target group does not exist (a concurrent close got there first).
 */
export function moveTab(doc: Y.Doc, seen: SeenState, key: string, target: MoveTarget): boolean {
  const tab = seen.tabs.find((t) => t.key === key)
  if (!tab) return false
  const group = target.group ?? tab.group
  if (!seen.layout.groups.includes(group)) return false
  doc.transact(() => placeAt(doc, seen.layout, seen.tabs, key, group, target.index))
  return true
}

/** Sets or clears a shown tab's custom title; false when `key` is not a tab here. */
export function renameTab(doc: Y.Doc, seen: SeenState, key: string, title: string | null): boolean {
  const tab = seen.tabs.find((t) => t.key === key)
  if (!tab) return false
  doc.transact(() => {
    // A tab with no entry yet gets one where it is shown, so a rename never moves it.
    if (!seen.layout.placements.has(key)) placeAt(doc, seen.layout, seen.tabs, key, tab.group, tab.index)
    setTitle(doc, key, title)
  })
  return true
}

/** Places a key that is about to be spawned (not live yet, so not shown until it is). */
export function placeNewTab(doc: Y.Doc, seen: SeenState, key: string, where: { group?: string; index?: number; title?: string }): void {
  const group = where.group !== undefined && seen.layout.groups.includes(where.group) ? where.group : seen.layout.groups[0]!
  doc.transact(() => {
    placeAt(doc, seen.layout, seen.tabs, key, group, where.index)
    if (where.title) setTitle(doc, key, where.title)
  })
}

/** Drops a key's layout entry (its session is closed). */
export function dropTab(doc: Y.Doc, key: string): void {
  removeTab(doc, key)
}
