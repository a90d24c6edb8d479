/**
 * Types of the layout as readers see it (the SDK codes against them).
 *
 * Doc shape (schema 3, docs/sync.md "The layout document"):
 *   Y.Map "meta"   : schema -> 3
 *   Y.Map "tabs"   : canonical key -> Y.Map {group, order, title?, titleCopy?}
 *   Y.Map "titles" : canonical key -> custom title ("" once cleared)
 *   Y.Map "panes"  : node id -> Y.Map {parent: string|null, order, type: "split"|"group", dir?, size?}
 */

import type * as Y from 'yjs'
import { clampTitle } from '../limits.js'

export const LAYOUT_SCHEMA_VERSION = 3

export interface TabPlacement {
  key: string
  group: string
  order: string
  title: string | null
}

export interface PaneGroupNode {
  id: string
  type: 'group'
  parent: string | null
  order: string
  size: number | null
}

export interface PaneSplitNode {
  id: string
  type: 'split'
  parent: string | null
  order: string
  dir: 'row' | 'column'
  size: number | null
  children: PaneNode[]
}

export type PaneNode = PaneGroupNode | PaneSplitNode

/**
 * The layout as a reader sees it after the deterministic repair: the split tree, the groups in
 * tree order (depth first), and each group's tab placements sorted by (order, key). Tabs whose
 * group is gone are already moved (in the view) to the first group. Holds no existence (I3,
 * docs/architecture.md "Invariants").
 */
export interface LayoutView {
  root: PaneNode
  groups: string[]
  /** group id -> placements in display order */
  tabsByGroup: Map<string, TabPlacement[]>
  /** key -> placement (after repair), for lookups */
  placements: Map<string, TabPlacement>
}

/** Names of the document's top-level maps. Only this module uses them. */
export const META_MAP = 'meta'
export const TABS_MAP = 'tabs'
export const TITLES_MAP = 'titles'
export const PANES_MAP = 'panes'

/**
 * Id of the split a reader makes up when the stored tree has several top-level nodes and none
 * of them is a split that could adopt the others. Never stored; never a valid stored id
 * (stored ids are uuids or "main"), so it cannot clash.
 */
export const SYNTHETIC_ROOT_ID = '#root'

/** The group every document starts with. A fixed id, so replicas that create it concurrently agree. */
export const DEFAULT_GROUP = 'main'

/**
 * The Y.Map class of the yjs copy that made `doc`. An app can end up with two copies of yjs
 * (a bundler, nested node_modules); a map from one copy cannot be inserted into a document of
 * another, and `instanceof` fails across them. Taking the class from the document itself keeps
 * this module correct whichever copy the caller uses, and means it never loads yjs itself.
 */
export function mapClassOf(doc: Y.Doc): new () => Y.Map<unknown> {
  return doc.getMap(TABS_MAP).constructor as new () => Y.Map<unknown>
}

/** True when `value` is a Y.Map of `doc`'s yjs copy. */
export function isMapOf(doc: Y.Doc, value: unknown): value is Y.Map<unknown> {
  return value instanceof mapClassOf(doc)
}

/** A stored title as readers show it: a non-empty string, else none ("" is a cleared title). */
export function shownTitle(value: unknown): string | null {
  // Cut to MAX_TITLE_CHARS: another replica may have stored anything.
  return typeof value === 'string' && value !== '' ? clampTitle(value) : null
}
