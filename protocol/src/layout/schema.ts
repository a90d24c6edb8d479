/**
 * Types of the layout as readers see it (issue 4 owns this module; the SDK codes against it).
 *
 * Doc shape (SPEC §7):
 *   Y.Map "meta"  : schema -> 2
 *   Y.Map "tabs"  : canonical key -> Y.Map {group, order, title?}
 *   Y.Map "panes" : node id -> Y.Map {parent: string|null, order, type: "split"|"group", dir?, size?}
 */

export const LAYOUT_SCHEMA_VERSION = 2

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
 * group is gone are already moved (in the view) to the first group. Holds no existence (I3).
 */
export interface LayoutView {
  root: PaneNode
  groups: string[]
  /** group id -> placements in display order */
  tabsByGroup: Map<string, TabPlacement[]>
  /** key -> placement (after repair), for lookups */
  placements: Map<string, TabPlacement>
}
