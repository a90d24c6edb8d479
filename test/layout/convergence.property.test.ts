/**
 * Random concurrent edits on several replicas that exchange updates in random order (some
 * delayed, some duplicated): once every update has reached every replica, all of them must read
 * the same layout, and that layout must be a well-formed tree with each tab exactly once.
 */
import { soakable } from '../helpers/soak.js'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import {
  DEFAULT_GROUP,
  closeGroup,
  createGroup,
  initLayout,
  placeTab,
  readLayout,
  removeTab,
  resizePane,
  setTitle,
  splitGroup,
  type LayoutView,
  type PaneNode,
} from '@tabula/protocol'

const REPLICAS = 3
const KEYS = Array.from({ length: 6 }, (_, i) => `tab-00000000-0000-4000-8000-00000000000${i}`)

type Op =
  | { kind: 'place'; replica: number; key: number; group: number; after: number; before: number }
  | { kind: 'title'; replica: number; key: number; title: string | null }
  | { kind: 'remove'; replica: number; key: number }
  | { kind: 'split'; replica: number; group: number; dir: 'row' | 'column' }
  | { kind: 'create'; replica: number; group: number }
  | { kind: 'close'; replica: number; group: number }
  | { kind: 'resize'; replica: number; node: number; size: number }
  | { kind: 'reparent'; replica: number; node: number; parent: number } // a raw write, as a buggy or old client might make
  | { kind: 'deliver'; from: number; to: number; pick: number }

const replica = fc.nat(REPLICAS - 1)
const slot = fc.nat(20)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      replica,
      key: fc.nat(KEYS.length - 1),
      group: slot,
      after: slot,
      before: slot,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('title' as const),
      replica,
      key: fc.nat(KEYS.length - 1),
      title: fc.option(fc.constantFrom('a', 'b', 'logs'), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), replica, key: fc.nat(KEYS.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('split' as const),
      replica,
      group: slot,
      dir: fc.constantFrom('row' as const, 'column' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('create' as const), replica, group: slot }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), replica, group: slot }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('resize' as const), replica, node: slot, size: fc.double({ min: 0, max: 1, noNaN: true }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reparent' as const), replica, node: slot, parent: slot }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), from: replica, to: replica, pick: fc.nat() }) },
)

function apply(docs: Y.Doc[], outbox: Uint8Array[][], op: Op): void {
  if (op.kind === 'deliver') {
    const log = outbox[op.from]!
    if (op.from === op.to || log.length === 0) return
    // Any one update, in any order, possibly again: Yjs must hold back what it cannot apply yet.
    Y.applyUpdate(docs[op.to]!, log[op.pick % log.length]!)
    return
  }
  const doc = docs[op.replica]!
  const view = readLayout(doc)
  const pickGroup = (n: number) => view.groups[n % view.groups.length]!
  switch (op.kind) {
    case 'place': {
      const group = pickGroup(op.group)
      const inGroup = view.tabsByGroup.get(group)!.map((t) => t.key)
      const neighbour = (n: number) => (n >= inGroup.length ? null : inGroup[n]!)
      placeTab(doc, KEYS[op.key]!, group, neighbour(op.after), neighbour(op.before))
      break
    }
    case 'title':
      setTitle(doc, KEYS[op.key]!, op.title)
      break
    case 'remove':
      removeTab(doc, KEYS[op.key]!)
      break
    case 'split':
      splitGroup(doc, pickGroup(op.group), op.dir)
      break
    case 'create':
      createGroup(doc, op.group % 3 === 0 ? undefined : pickGroup(op.group))
      break
    case 'close':
      closeGroup(doc, pickGroup(op.group))
      break
    case 'resize': {
      const ids = [...doc.getMap('panes').keys()].sort()
      if (ids.length) resizePane(doc, ids[op.node % ids.length]!, op.size)
      break
    }
    case 'reparent': {
      const ids = [...doc.getMap('panes').keys()].sort()
      const node = doc.getMap('panes').get(ids[op.node % Math.max(1, ids.length)] ?? '')
      if (node instanceof Y.Map) node.set('parent', op.parent % 5 === 0 ? 'gone' : ids[op.parent % ids.length]!)
      break
    }
  }
}

/** A view as plain data, so two replicas' views compare with toEqual. */
function plain(view: LayoutView): unknown {
  return {
    root: view.root,
    groups: view.groups,
    tabs: view.groups.map((g) => view.tabsByGroup.get(g)!.map((t) => [t.key, t.group, t.order, t.title])),
  }
}

function expectWellFormed(view: LayoutView): void {
  const seen = new Set<string>()
  const groups: string[] = []
  const walk = (node: PaneNode, parent: string | null) => {
    expect(seen.has(node.id), `node ${node.id} appears twice`).toBe(false)
    seen.add(node.id)
    expect(node.parent).toBe(parent)
    if (node.type === 'group') groups.push(node.id)
    else {
      expect(node.children.length, `split ${node.id} must have two or more children`).toBeGreaterThanOrEqual(2)
      for (const child of node.children) walk(child, node.id)
    }
  }
  walk(view.root, null)
  expect(view.groups).toEqual(groups)
  expect(groups.length).toBeGreaterThan(0)
  expect([...view.tabsByGroup.keys()].sort()).toEqual([...groups].sort())
  const listed = [...view.tabsByGroup.values()].flat()
  expect(new Set(listed.map((t) => t.key)).size).toBe(listed.length) // each tab once (I6)
  expect(listed.length).toBe(view.placements.size)
  for (const [group, tabs] of view.tabsByGroup) {
    for (const t of tabs) expect(t.group).toBe(group)
    for (let i = 1; i < tabs.length; i++) {
      const [a, b] = [tabs[i - 1]!, tabs[i]!]
      expect(a.order < b.order || (a.order === b.order && a.key < b.key)).toBe(true)
    }
  }
}

describe('concurrent layout edits', () => {
  it('converge to the same well-formed layout on every replica', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.boolean(), (ops, initFirst) => {
        const docs = Array.from({ length: REPLICAS }, () => new Y.Doc())
        const outbox: Uint8Array[][] = docs.map(() => [])
        for (const [i, doc] of docs.entries())
          doc.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && outbox[i]!.push(u))
        // Either every replica initialises offline (concurrent inits), or none does.
        if (initFirst) for (const doc of docs) initLayout(doc)
        for (const op of ops) apply(docs, outbox, op)
        // Deliver everything everywhere.
        for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a), 'remote')
        const views = docs.map(readLayout)
        for (const view of views) expectWellFormed(view)
        for (const view of views.slice(1)) expect(plain(view)).toEqual(plain(views[0]!))
        // Reading twice is stable, and reading wrote nothing.
        const state = Y.encodeStateVector(docs[0]!)
        expect(plain(readLayout(docs[0]!))).toEqual(plain(views[0]!))
        expect(Y.encodeStateVector(docs[0]!)).toEqual(state)
      }),
      { seed: 20250704, numRuns: soakable(300, 5_000) },
    )
  })

  it('an edit on a converged layout keeps it well formed', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const doc = new Y.Doc()
        initLayout(doc)
        for (const op of ops) if (op.kind !== 'deliver') apply([doc], [[]], { ...op, replica: 0 } as Op)
        expectWellFormed(readLayout(doc))
        expect(readLayout(doc).groups.length).toBeGreaterThan(0)
        void DEFAULT_GROUP
      }),
      { seed: 7, numRuns: soakable(200, 3_000) },
    )
  })
})
