/**
 * Every write to a layout document goes through these functions, each inside one Y transaction
 * so a remote replica never sees half of an edit. `index`-style placement is done by the SDK,
 * which knows which tabs are visible: it passes the neighbours' keys and this module computes an
 * order between them.
 *
 * Writes decide from the repaired view (readLayout), so an edit made on a tree that needed repair
 * lands where the person saw things, and writes only the entries it changes.
 */
import type * as Y from 'yjs'
import { clampTitle } from '../limits.js'
import { readLayout, findPane } from './read.js'
import { randomUuid } from '../uuid.js'
import { FIRST_ORDER, isOrderKey, orderBetween } from './order.js'
import {
  DEFAULT_GROUP,
  LAYOUT_SCHEMA_VERSION,
  META_MAP,
  PANES_MAP,
  SYNTHETIC_ROOT_ID,
  TABS_MAP,
  TITLES_MAP,
  type LayoutView,
  type PaneNode,
  type TabPlacement,
  isMapOf,
  mapClassOf,
  shownTitle,
} from './schema.js'
import { CLEARED_TITLE, deleteTitle, titleOf, writeTitle } from './titles.js'

/**
 * Marks the document schema 3, and creates the default group when the document has no pane at
 * all. Safe to call on every replica: concurrent calls write identical values under the same
 * names. Call it after the first sync where possible: on a document that is only empty locally
 * it adds a "main" group that may sit beside the real tree (readers then show it as one more
 * group).
 */
export function initLayout(doc: Y.Doc): void {
  const panes = doc.getMap<unknown>(PANES_MAP)
  if (!needsSchemaMark(doc) && panes.size > 0) return
  doc.transact(() => {
    markSchema(doc)
    if (panes.size === 0) panes.set(DEFAULT_GROUP, groupNode(doc, null, FIRST_ORDER))
  })
}

/**
 * Migrates a schema 2 document to schema 3 by marking it, and nothing more (docs/sync.md,
 * "Migration from schema 2"): its titles stay in the tab entries, where readers still find
 * them. Copying them into the titles map would be a write that could beat a concurrent rename
 * of the same key. A newer schema's mark is left alone.
 */
function markSchema(doc: Y.Doc): void {
  if (needsSchemaMark(doc)) doc.getMap<unknown>(META_MAP).set('schema', LAYOUT_SCHEMA_VERSION)
}

function needsSchemaMark(doc: Y.Doc): boolean {
  const schema = doc.getMap<unknown>(META_MAP).get('schema')
  return typeof schema !== 'number' || schema < LAYOUT_SCHEMA_VERSION
}

/** True when the document has never been written (no meta, tabs, titles or panes): the migration's "does it exist". */
export function isEmptyLayout(doc: Y.Doc): boolean {
  return [META_MAP, TABS_MAP, TITLES_MAP, PANES_MAP].every((name) => doc.getMap(name).size === 0)
}

/**
 * Places `key` in `group` between two neighbours (either may be null: start/end of the group).
 * Creates the entry when missing; keeps its title when it exists. A group that is not in the
 * tree means the first group, as readers would show it. Neighbours that are not in the group, or
 * that concurrent edits have put out of order, are resolved so that the tab still lands next to
 * the neighbour that was found: right after `after`, else right before `before`.
 */
export function placeTab(doc: Y.Doc, key: string, group: string, after: string | null, before: string | null): void {
  if (typeof key !== 'string' || key === '') throw new Error('placeTab: key must be a non-empty string')
  const view = readLayout(doc)
  const target = view.tabsByGroup.has(group) ? group : view.groups[0]!
  const order = orderInGroup(view, target, key, after, before)
  doc.transact(() => {
    markSchema(doc)
    const tabs = doc.getMap<unknown>(TABS_MAP)
    const entry = tabs.get(key)
    if (isMapOf(doc, entry)) {
      if (entry.get('group') !== target) entry.set('group', target)
      entry.set('order', order)
    } else {
      tabs.set(key, tabEntry(doc, target, order))
    }
  })
}

/**
 * Sets (or with null, or an empty string, clears) the custom title. Creates an entry at the end
 * of the first group when missing. Writes nothing when the title shown is already that one.
 */
export function setTitle(doc: Y.Doc, key: string, title: string | null): void {
  if (title !== null && typeof title !== 'string') throw new Error('setTitle: title must be a string or null')
  if (typeof key !== 'string' || key === '') throw new Error('setTitle: key must be a non-empty string')
  const value = title === null ? CLEARED_TITLE : clampTitle(title)
  if (titleOf(doc, key) === shownTitle(value)) return
  const tabs = doc.getMap<unknown>(TABS_MAP)
  doc.transact(() => {
    markSchema(doc)
    let entry = tabs.get(key)
    if (!isMapOf(doc, entry) && value !== CLEARED_TITLE) {
      const view = readLayout(doc)
      const first = view.groups[0]!
      tabs.set(key, tabEntry(doc, first, orderInGroup(view, first, key, null, null)))
      entry = tabs.get(key)
    }
    writeTitle(doc, key, isMapOf(doc, entry) ? entry : undefined, value)
  })
}

/** Drops a key's entry and its title. */
export function removeTab(doc: Y.Doc, key: string): void {
  const tabs = doc.getMap<unknown>(TABS_MAP)
  doc.transact(() => {
    if (tabs.has(key)) tabs.delete(key)
    deleteTitle(doc, key)
  })
}

/**
 * A new empty group beside `besideGroup` (or at the root); returns its id. Beside a group whose
 * parent is a split, the new group becomes the next sibling; beside the root group, the root is
 * split in a row.
 */
export function createGroup(doc: Y.Doc, besideGroup?: string): string {
  const view = readLayout(doc)
  if (besideGroup !== undefined) {
    const beside = findPane(view.root, besideGroup)
    if (beside?.type !== 'group') throw new Error(`createGroup: no group "${besideGroup}"`)
    if (beside.parent === null) return splitGroup(doc, besideGroup, 'row')
    const parent = findPane(view.root, beside.parent) as Extract<PaneNode, { type: 'split' }>
    const next = parent.children[parent.children.indexOf(beside) + 1] ?? null
    return addNode(doc, storedParent(beside.parent), orderAfter(beside.order, next?.order ?? null))
  }
  if (view.root.type === 'group') return splitGroup(doc, view.root.id, 'row')
  const last = view.root.children[view.root.children.length - 1]!
  return addNode(doc, storedParent(view.root.id), orderAfter(last.order, null))
}

/** Splits `group` in direction `dir`; the new sibling group (after `group`) is returned. */
export function splitGroup(doc: Y.Doc, group: string, dir: 'row' | 'column'): string {
  if (dir !== 'row' && dir !== 'column') throw new Error(`splitGroup: dir must be "row" or "column", got ${String(dir)}`)
  const view = readLayout(doc)
  const node = findPane(view.root, group)
  if (node?.type !== 'group') throw new Error(`splitGroup: no group "${group}"`)
  const splitId = newNodeId()
  const newGroup = newNodeId()
  doc.transact(() => {
    const panes = doc.getMap<unknown>(PANES_MAP)
    // The split takes the group's place (its parent, order and share); the group and the new
    // one become its children. Written from the view, so a repaired position becomes stored.
    const split = new (mapClassOf(doc))()
    split.set('parent', node.parent === null ? null : storedParent(node.parent))
    split.set('order', isOrderKey(node.order) ? node.order : FIRST_ORDER)
    split.set('type', 'split')
    split.set('dir', dir)
    if (node.size !== null) split.set('size', node.size)
    panes.set(splitId, split)
    const existing = panes.get(group)
    if (isMapOf(doc, existing)) {
      existing.set('parent', splitId)
      existing.set('order', FIRST_ORDER)
      if (existing.has('size')) existing.delete('size')
    } else {
      panes.set(group, groupNode(doc, splitId, FIRST_ORDER)) // the default group, never stored until now
    }
    panes.set(newGroup, groupNode(doc, splitId, orderBetween(FIRST_ORDER, null)))
  })
  return newGroup
}

/** Sets a pane node's share of its parent split, clamped to 0..1. A node that is not stored is left alone. */
export function resizePane(doc: Y.Doc, nodeId: string, size: number): void {
  if (typeof size !== 'number' || !Number.isFinite(size)) throw new Error(`resizePane: size must be a finite number, got ${String(size)}`)
  const entry = doc.getMap<unknown>(PANES_MAP).get(nodeId)
  if (isMapOf(doc, entry)) entry.set('size', Math.min(1, Math.max(0, size)))
}

/**
 * Removes a group; its tabs move to the end of the first remaining group, in their order (they
 * are never dropped). A split left with one child is collapsed by readers. Closing the last
 * group leaves the default group, as readers show a tree with no group.
 */
export function closeGroup(doc: Y.Doc, group: string): void {
  const panes = doc.getMap<unknown>(PANES_MAP)
  const entry = panes.get(group)
  if (!isMapOf(doc, entry) || entry.get('type') !== 'group') return
  const before = readLayout(doc)
  const moving = before.tabsByGroup.get(group) ?? []
  doc.transact(() => {
    panes.delete(group)
    if (moving.length === 0) return
    const after = readLayout(doc)
    const first = after.groups[0]!
    const existing = after.tabsByGroup.get(first)!.filter((t) => !moving.some((m) => m.key === t.key))
    let previous = lastValidOrder(existing)
    const tabs = doc.getMap<unknown>(TABS_MAP)
    for (const tab of moving) {
      previous = orderBetween(previous, null)
      const stored = tabs.get(tab.key)
      if (isMapOf(doc, stored)) {
        stored.set('group', first)
        stored.set('order', previous)
      }
    }
  })
}

/**
 * The order for `key` in `group`, by the rules of placeTab. Only entries with valid orders count
 * as neighbours (a malformed order from elsewhere is shown, but nothing is placed against it).
 */
function orderInGroup(view: LayoutView, group: string, key: string, after: string | null, before: string | null): string {
  const list = (view.tabsByGroup.get(group) ?? []).filter((t) => t.key !== key && isOrderKey(t.order))
  const at = (k: string | null) => (k === null ? -1 : list.findIndex((t) => t.key === k))
  const ia = at(after)
  const ib = at(before)
  if (ia >= 0 && ib >= 0 && list[ia]!.order < list[ib]!.order) return orderBetween(list[ia]!.order, list[ib]!.order)
  if (ia >= 0) {
    const lo = list[ia]!.order
    const next = list.slice(ia + 1).find((t) => t.order > lo)
    return orderBetween(lo, next?.order ?? null)
  }
  if (ib >= 0) {
    const hi = list[ib]!.order
    const previous = list
      .slice(0, ib)
      .reverse()
      .find((t) => t.order < hi)
    return orderBetween(previous?.order ?? null, hi)
  }
  if (after === null && before !== null) return orderBetween(null, list[0]?.order ?? null) // "before X", X unknown: the start
  return orderBetween(lastValidOrder(list), null)
}

function orderAfter(order: string, next: string | null): string {
  const lo = isOrderKey(order) ? order : null
  const hi = next !== null && isOrderKey(next) && (lo === null || next > lo) ? next : null
  return orderBetween(lo, hi)
}

function lastValidOrder(list: TabPlacement[]): string | null {
  for (let i = list.length - 1; i >= 0; i--) if (isOrderKey(list[i]!.order)) return list[i]!.order
  return null
}

function addNode(doc: Y.Doc, parent: string | null, order: string): string {
  const id = newNodeId()
  doc.getMap<unknown>(PANES_MAP).set(id, groupNode(doc, parent, order))
  return id
}

/** The synthetic root exists only in views; under it, the stored parent is "none". */
function storedParent(viewParent: string): string | null {
  return viewParent === SYNTHETIC_ROOT_ID ? null : viewParent
}

function groupNode(doc: Y.Doc, parent: string | null, order: string): Y.Map<unknown> {
  const node = new (mapClassOf(doc))()
  node.set('parent', parent)
  node.set('order', order)
  node.set('type', 'group')
  return node
}

/** A new tab entry, placed and untitled (also used by the v1 migration's seeding; not part of the package's surface). */
export function tabEntry(doc: Y.Doc, group: string, order: string): Y.Map<unknown> {
  const entry = new (mapClassOf(doc))()
  entry.set('group', group)
  entry.set('order', order)
  return entry
}

function newNodeId(): string {
  return randomUuid()
}
