import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  DEFAULT_GROUP,
  closeGroup,
  convertV1Layout,
  createGroup,
  initLayout,
  isEmptyLayout,
  placeTab,
  readLayout,
  removeTab,
  resizePane,
  seedLayout,
  setTitle,
  splitGroup,
  type PaneNode,
} from '@tabula/protocol'
import { readK2soFixture } from '../helpers/fixtures.js'

const fixture = readK2soFixture()

const keysOf = (doc: Y.Doc, group = DEFAULT_GROUP) => (readLayout(doc).tabsByGroup.get(group) ?? []).map((t) => t.key)
const T = (n: number) => `tab-00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

/** Writes a pane node directly, as a concurrent or hostile writer could. */
function rawNode(doc: Y.Doc, id: string, fields: Record<string, unknown>): void {
  const node = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(fields)) node.set(k, v)
  doc.getMap('panes').set(id, node)
}

function shape(node: PaneNode): unknown {
  return node.type === 'group' ? node.id : { [node.dir]: node.children.map(shape) }
}

describe('an empty document', () => {
  it('reads as the default group with no tabs (I3: layout alone yields nothing to show)', () => {
    const doc = new Y.Doc()
    expect(isEmptyLayout(doc)).toBe(true)
    const view = readLayout(doc)
    expect(view.groups).toEqual([DEFAULT_GROUP])
    expect(view.placements.size).toBe(0)
    expect(isEmptyLayout(doc)).toBe(true) // reading wrote nothing
  })

  it('initialised concurrently on two replicas ends with one default group', () => {
    const a = new Y.Doc()
    const b = new Y.Doc()
    initLayout(a)
    initLayout(b)
    sync(a, b)
    expect(a.getMap('panes').size).toBe(1)
    expect(readLayout(a).groups).toEqual([DEFAULT_GROUP])
    expect(a.getMap('meta').get('schema')).toBe(3)
    expect(isEmptyLayout(a)).toBe(false)
  })
})

describe('tabs', () => {
  it('are placed between neighbours, moved, renamed and removed', () => {
    const doc = new Y.Doc()
    initLayout(doc)
    placeTab(doc, T(1), DEFAULT_GROUP, null, null)
    placeTab(doc, T(2), DEFAULT_GROUP, T(1), null)
    placeTab(doc, T(3), DEFAULT_GROUP, T(1), T(2))
    expect(keysOf(doc)).toEqual([T(1), T(3), T(2)])
    placeTab(doc, T(2), DEFAULT_GROUP, null, T(1))
    expect(keysOf(doc)).toEqual([T(2), T(1), T(3)])
    setTitle(doc, T(1), 'build')
    placeTab(doc, T(1), DEFAULT_GROUP, T(3), null)
    expect(keysOf(doc)).toEqual([T(2), T(3), T(1)])
    expect(readLayout(doc).placements.get(T(1))!.title).toBe('build') // a move keeps the title
    setTitle(doc, T(1), null)
    expect(readLayout(doc).placements.get(T(1))!.title).toBeNull()
    removeTab(doc, T(3))
    expect(keysOf(doc)).toEqual([T(2), T(1)])
  })

  it('setTitle on a tab with no entry places it at the end of the first group', () => {
    const doc = new Y.Doc()
    placeTab(doc, T(1), DEFAULT_GROUP, null, null)
    setTitle(doc, T(2), 'logs')
    expect(keysOf(doc)).toEqual([T(1), T(2)])
    expect(readLayout(doc).placements.get(T(2))!.title).toBe('logs')
  })

  it('ties in order break by key, the same on every replica', () => {
    const doc = new Y.Doc()
    const tabs = doc.getMap<Y.Map<unknown>>('tabs')
    for (const n of [3, 1, 2])
      tabs.set(
        T(n),
        new Y.Map<unknown>([
          ['group', 'main'],
          ['order', 'a0'],
        ]),
      )
    expect(keysOf(doc)).toEqual([T(1), T(2), T(3)])
  })

  it('neighbours made inconsistent by concurrent moves still place the tab next to "after"', () => {
    const doc = new Y.Doc()
    for (const n of [1, 2, 3]) placeTab(doc, T(n), DEFAULT_GROUP, n > 1 ? T(n - 1) : null, null)
    placeTab(doc, T(4), DEFAULT_GROUP, T(3), T(1)) // "after 3, before 1": cannot both hold
    expect(keysOf(doc)).toEqual([T(1), T(2), T(3), T(4)])
  })

  it('concurrent moves of one tab never duplicate it (I6)', () => {
    const a = new Y.Doc()
    for (const n of [1, 2, 3, 4]) placeTab(a, T(n), DEFAULT_GROUP, n > 1 ? T(n - 1) : null, null)
    const b = new Y.Doc()
    sync(a, b)
    placeTab(a, T(1), DEFAULT_GROUP, T(4), null)
    placeTab(b, T(1), DEFAULT_GROUP, T(2), T(3))
    sync(a, b)
    expect(keysOf(a)).toEqual(keysOf(b))
    expect(keysOf(a).filter((k) => k === T(1))).toHaveLength(1)
    expect(keysOf(a)).toHaveLength(4)
  })
})

describe('groups and the split tree', () => {
  it('split, create beside, resize and close; closed group tabs move to the first group', () => {
    const doc = new Y.Doc()
    initLayout(doc)
    placeTab(doc, T(1), DEFAULT_GROUP, null, null)
    const right = splitGroup(doc, DEFAULT_GROUP, 'row')
    const third = createGroup(doc, right)
    expect(readLayout(doc).groups).toEqual([DEFAULT_GROUP, right, third])
    placeTab(doc, T(2), right, null, null)
    placeTab(doc, T(3), right, T(2), null)
    resizePane(doc, right, 0.25)
    const view = readLayout(doc)
    expect(view.root.type === 'split' && view.root.children.find((c) => c.id === right)!.size).toBe(0.25)
    closeGroup(doc, right)
    expect(readLayout(doc).groups).toEqual([DEFAULT_GROUP, third])
    expect(keysOf(doc)).toEqual([T(1), T(2), T(3)])
    closeGroup(doc, third)
    expect(shape(readLayout(doc).root)).toEqual(DEFAULT_GROUP) // the one-child split collapsed
  })

  it('a cycle is broken at its smallest id, and both replicas agree', () => {
    const doc = new Y.Doc()
    rawNode(doc, 's-b', { type: 'split', dir: 'row', parent: 's-a', order: 'a0' })
    rawNode(doc, 's-a', { type: 'split', dir: 'column', parent: 's-b', order: 'a0' })
    rawNode(doc, 'g1', { type: 'group', parent: 's-a', order: 'a0' })
    rawNode(doc, 'g2', { type: 'group', parent: 's-b', order: 'a1' })
    // s-a is the smallest id in the cycle: it becomes the root, s-b its child, holding g2 only.
    expect(shape(readLayout(doc).root)).toEqual({ column: ['g1', 'g2'] })
  })

  it('an orphan goes to the root, and a tab whose group is gone falls into the first group', () => {
    const doc = new Y.Doc()
    rawNode(doc, 'root', { type: 'split', dir: 'row', parent: null, order: 'a0' })
    rawNode(doc, 'g1', { type: 'group', parent: 'root', order: 'a0' })
    rawNode(doc, 'g2', { type: 'group', parent: 'root', order: 'a1' })
    rawNode(doc, 'lost', { type: 'group', parent: 'gone-split', order: 'a5' })
    rawNode(doc, 'under-group', { type: 'group', parent: 'g1', order: 'a6' })
    doc.getMap('tabs').set(
      T(1),
      new Y.Map<unknown>([
        ['group', 'closed'],
        ['order', 'a0'],
      ]),
    )
    doc.getMap('tabs').set(
      T(2),
      new Y.Map<unknown>([
        ['group', 'g1'],
        ['order', 'a1'],
      ]),
    )
    const view = readLayout(doc)
    expect(shape(view.root)).toEqual({ row: ['g1', 'g2', 'lost', 'under-group'] })
    expect(view.tabsByGroup.get('g1')!.map((t) => t.key)).toEqual([T(1), T(2)])
    expect(view.placements.get(T(1))!.group).toBe('g1')
  })

  it('several top-level groups with no split get a synthetic row', () => {
    const doc = new Y.Doc()
    rawNode(doc, 'g2', { type: 'group', parent: null, order: 'a1' })
    rawNode(doc, 'g1', { type: 'group', parent: null, order: 'a0' })
    const view = readLayout(doc)
    expect(shape(view.root)).toEqual({ row: ['g1', 'g2'] })
    const added = createGroup(doc) // writes against the synthetic root: stored at the top level
    expect(readLayout(doc).groups).toEqual(['g1', 'g2', added])
  })

  it('malformed entries are skipped, never trusted', () => {
    const doc = new Y.Doc()
    doc.getMap('panes').set('junk', 42)
    rawNode(doc, 'bad-type', { type: 'window', parent: null, order: 'a0' })
    doc.getMap('tabs').set(T(1), 'not a map')
    doc.getMap('tabs').set(T(2), new Y.Map<unknown>([['group', 7]]))
    const view = readLayout(doc)
    expect(view.groups).toEqual([DEFAULT_GROUP])
    expect(view.placements.size).toBe(0)
  })

  it('splits made concurrently on two replicas merge into one well-formed tree', () => {
    const a = new Y.Doc()
    initLayout(a)
    const b = new Y.Doc()
    sync(a, b)
    const ga = splitGroup(a, DEFAULT_GROUP, 'row')
    const gb = splitGroup(b, DEFAULT_GROUP, 'column')
    sync(a, b)
    expect(readLayout(a)).toEqual(readLayout(b))
    expect(new Set(readLayout(a).groups)).toEqual(new Set([DEFAULT_GROUP, ga, gb]))
  })
})

describe('v1 migration', () => {
  const row = fixture.workspace_layouts_row

  it('converts the fixture: 6 entries to 3 tabs, first-occurrence order, titles kept', () => {
    const conversion = convertV1Layout(row.layout_json)
    expect(conversion.before).toBe(6)
    expect(conversion.after).toBe(3)
    expect(conversion.tabs.map((t) => t.key)).toEqual(fixture.expected.migrated_keys_in_order)
    for (const t of conversion.tabs) expect(t.title).toBe(fixture.expected.titles[t.key])
  })

  it('seeds an empty document with nothing per client in it, and refuses a second time', () => {
    const doc = new Y.Doc()
    const conversion = convertV1Layout(row.layout_json)
    expect(seedLayout(doc, conversion)).toBe(true)
    expect(keysOf(doc)).toEqual(fixture.expected.migrated_keys_in_order)
    const json = JSON.stringify(doc.toJSON())
    expect(json).not.toMatch(/activeTabId|sessionId|acef6309|f9f775cc/)
    // Seeded as schema 3: the titles in the titles map, copied into the entries for schema 2 readers.
    expect(doc.getMap('meta').get('schema')).toBe(3)
    for (const t of conversion.tabs) {
      expect(readLayout(doc).placements.get(t.key)!.title).toBe(fixture.expected.titles[t.key])
      expect(doc.getMap('titles').get(t.key)).toBe(fixture.expected.titles[t.key])
      expect((doc.getMap('tabs').get(t.key) as Y.Map<unknown>).get('title')).toBe(fixture.expected.titles[t.key])
    }
    const before = Y.encodeStateAsUpdate(doc)
    expect(seedLayout(doc, { tabs: [{ key: T(9), title: null }], before: 1, after: 1 })).toBe(false)
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
  })

  it("refuses a document that only holds another replica's edit", () => {
    const doc = new Y.Doc()
    placeTab(doc, T(1), DEFAULT_GROUP, null, null)
    expect(seedLayout(doc, convertV1Layout(row.layout_json))).toBe(false)
    expect(keysOf(doc)).toEqual([T(1)])
  })

  it('says what is wrong with a row that is not a v1 layout', () => {
    expect(() => convertV1Layout('{')).toThrow(/not valid JSON/)
    expect(() => convertV1Layout('{"tabs": 3}')).toThrow(/no "tabs" array/)
    const odd = convertV1Layout(
      JSON.stringify({
        tabs: [null, { paneGroups: { nope: { items: [] } } }, { paneGroups: { 'AAAAAAAA-1111-4222-8333-BBBBBBBBBBBB': { items: [{}] } } }],
      }),
    )
    expect(odd.tabs).toEqual([{ key: 'tab-aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb', title: null }])
    expect(odd.skipped).toHaveLength(2)
  })
})
