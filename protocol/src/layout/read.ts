/**
 * Reading a layout document: the deterministic repair of docs/sync.md, "Repair rules". The stored
 * tree is a table of nodes with parent pointers, edited concurrently by replicas that never
 * coordinate, so it can hold cycles, orphans, splits with one child and tabs in groups that are
 * gone. A reader never writes a repair back (that would race other replicas' repairs); it computes
 * the same repaired view from the same state on every replica, because every step below depends
 * only on the document's contents and sorts whatever it iterates.
 */
import type * as Y from 'yjs'
import { compareByOrder, compareStrings, FIRST_ORDER } from './order.js'
import {
  DEFAULT_GROUP,
  PANES_MAP,
  SYNTHETIC_ROOT_ID,
  TABS_MAP,
  type LayoutView,
  type PaneGroupNode,
  type PaneNode,
  type TabPlacement,
  isMapOf,
} from './schema.js'
import { readTitle } from './titles.js'

/** A pane node as stored, after type checks (a malformed entry is skipped, never trusted). */
interface StoredNode {
  id: string
  type: 'group' | 'split'
  parent: string | null
  order: string
  dir: 'row' | 'column'
  size: number | null
}

export function readLayout(doc: Y.Doc): LayoutView {
  const root = repairTree(readNodes(doc, doc.getMap<unknown>(PANES_MAP)))
  const groups = groupsInTreeOrder(root)
  const tabsByGroup = new Map<string, TabPlacement[]>(groups.map((g) => [g, []]))
  const placements = new Map<string, TabPlacement>()
  const first = groups[0]!
  for (const [key, value] of doc.getMap<unknown>(TABS_MAP)) {
    const tab = readTab(doc, key, value)
    if (!tab) continue
    // Rule: a tab whose group is gone (closed concurrently, never created) falls into the first group.
    if (!tabsByGroup.has(tab.group)) tab.group = first
    tabsByGroup.get(tab.group)!.push(tab)
    placements.set(key, tab)
  }
  for (const list of tabsByGroup.values()) list.sort((a, b) => compareByOrder({ order: a.order, id: a.key }, { order: b.order, id: b.key }))
  return { root, groups, tabsByGroup, placements }
}

function readTab(doc: Y.Doc, key: string, value: unknown): TabPlacement | null {
  if (!isMapOf(doc, value)) return null
  const order = value.get('order')
  if (typeof order !== 'string') return null
  const group = value.get('group')
  return {
    key,
    group: typeof group === 'string' ? group : '',
    order,
    title: readTitle(doc, key, value),
  }
}

function readNodes(doc: Y.Doc, panes: Y.Map<unknown>): Map<string, StoredNode> {
  const nodes = new Map<string, StoredNode>()
  for (const [id, value] of panes) {
    if (id === SYNTHETIC_ROOT_ID || !isMapOf(doc, value)) continue
    const type = value.get('type')
    if (type !== 'group' && type !== 'split') continue
    const parent = value.get('parent')
    const order = value.get('order')
    const size = value.get('size')
    nodes.set(id, {
      id,
      type,
      parent: typeof parent === 'string' ? parent : null,
      order: typeof order === 'string' ? order : '',
      dir: value.get('dir') === 'column' ? 'column' : 'row',
      size: typeof size === 'number' && Number.isFinite(size) ? Math.min(1, Math.max(0, size)) : null,
    })
  }
  return nodes
}

/**
 * Repairs the node table into one tree:
 * 1. A parent pointer to a missing node, or to a group (a group holds tabs, not panes), is an
 *    orphan's: the node goes to the top level.
 * 2. Every cycle is broken at its smallest id (by code units), which goes to the top level.
 * 3. One top-level node is the root. With several, the first top-level split (by order, then id)
 *    adopts the others as children; with no split among them, a synthetic row split holds them.
 * 4. Bottom up: a split with no children disappears, a split with one child is replaced by that
 *    child (which takes the split's place, order and size).
 * 5. A tree with no group at all reads as the default group alone.
 */
function repairTree(nodes: Map<string, StoredNode>): PaneNode {
  const parentOf = new Map<string, string | null>()
  for (const node of nodes.values()) {
    const parent = node.parent === null ? undefined : nodes.get(node.parent)
    parentOf.set(node.id, parent && parent.type === 'split' ? parent.id : null)
  }
  breakCycles(parentOf)

  const topLevel = [...nodes.values()].filter((n) => parentOf.get(n.id) === null).sort(compareByOrder)
  let rootId: string | null = topLevel[0]?.id ?? null
  let synthetic: StoredNode | null = null
  if (topLevel.length > 1) {
    const adopter = topLevel.find((n) => n.type === 'split')
    if (adopter) {
      rootId = adopter.id
      for (const n of topLevel) if (n !== adopter) parentOf.set(n.id, adopter.id)
    } else {
      synthetic = { id: SYNTHETIC_ROOT_ID, type: 'split', parent: null, order: '', dir: 'row', size: null }
      rootId = SYNTHETIC_ROOT_ID
      for (const n of topLevel) parentOf.set(n.id, SYNTHETIC_ROOT_ID)
    }
  }

  const children = new Map<string, StoredNode[]>()
  for (const node of nodes.values()) {
    const parent = parentOf.get(node.id)
    if (parent === null || parent === undefined) continue
    let list = children.get(parent)
    if (!list) children.set(parent, (list = []))
    list.push(node)
  }
  for (const list of children.values()) list.sort(compareByOrder)

  const rootNode = rootId === null ? null : (synthetic ?? nodes.get(rootId)!)
  const root = rootNode ? buildCollapsed(rootNode, children) : null
  if (root) {
    root.parent = null
    return root
  }
  const fallback: PaneGroupNode = { id: DEFAULT_GROUP, type: 'group', parent: null, order: FIRST_ORDER, size: null }
  return fallback
}

/**
 * Walks the parent pointers (a functional graph: each node has at most one parent) and sets the
 * parent of each cycle's smallest id to null. Iterative, so a hostile chain of any depth cannot
 * overflow the stack.
 */
function breakCycles(parentOf: Map<string, string | null>): void {
  const DONE = 2
  const ON_PATH = 1
  const state = new Map<string, number>()
  for (const start of [...parentOf.keys()].sort(compareStrings)) {
    if (state.has(start)) continue
    const path: string[] = []
    let at: string | null = start
    while (at !== null && !state.has(at)) {
      state.set(at, ON_PATH)
      path.push(at)
      at = parentOf.get(at) ?? null
    }
    if (at !== null && state.get(at) === ON_PATH) {
      const cycle = path.slice(path.indexOf(at))
      const breaker = cycle.reduce((min, id) => (compareStrings(id, min) < 0 ? id : min))
      parentOf.set(breaker, null)
    }
    for (const id of path) state.set(id, DONE)
  }
}

/**
 * Builds the view of the subtree under `top` with rule 4 applied, post-order with an explicit
 * stack (depth is whatever the stored table says, so no recursion).
 */
function buildCollapsed(top: StoredNode, children: Map<string, StoredNode[]>): PaneNode | null {
  const built = new Map<string, PaneNode | null>()
  const stack: Array<{ node: StoredNode; expanded: boolean }> = [{ node: top, expanded: false }]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    const { node } = frame
    if (node.type === 'group') {
      built.set(node.id, { id: node.id, type: 'group', parent: null, order: node.order, size: node.size })
      stack.pop()
      continue
    }
    const kids = children.get(node.id) ?? []
    if (!frame.expanded) {
      frame.expanded = true
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, expanded: false })
      continue
    }
    stack.pop()
    const parts = kids.map((k) => built.get(k.id) ?? null).filter((k): k is PaneNode => k !== null)
    for (const k of kids) built.delete(k.id)
    if (parts.length === 0) {
      built.set(node.id, null)
    } else if (parts.length === 1) {
      const only = parts[0]!
      built.set(node.id, { ...only, order: node.order, size: node.size })
    } else {
      for (const part of parts) part.parent = node.id
      built.set(node.id, { id: node.id, type: 'split', parent: null, order: node.order, dir: node.dir, size: node.size, children: parts })
    }
  }
  return built.get(top.id) ?? null
}

function groupsInTreeOrder(root: PaneNode): string[] {
  const groups: string[] = []
  const stack: PaneNode[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node.type === 'group') groups.push(node.id)
    else for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!)
  }
  return groups
}

/** The view node with this id, or null. */
export function findPane(root: PaneNode, id: string): PaneNode | null {
  const stack: PaneNode[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node.id === id) return node
    if (node.type === 'split') stack.push(...node.children)
  }
  return null
}
