/**
 * Custom titles in schema 3 (docs/sync.md, "Custom titles"): a top-level `titles` map keyed by
 * canonical key, merged by Yjs' own map rule, with nothing running on any replica to rescue a
 * title. Schema 2 documents and schema 2 writers are made here with plain Yjs, exactly as schema 2
 * lays them out (titles in the tab entries, docs/sync.md "Migration from schema 2"), so they do not
 * depend on this module.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_GROUP, initLayout, placeTab, readLayout, removeTab, setTitle, titledKeys, TITLES_MAP } from '@tabula/protocol'

const K1 = 'tab-31415926-5358-4979-8323-846264338327'
const K2 = 'tab-27182818-2845-4904-8235-360287471352'

const titleOf = (doc: Y.Doc, key: string) => readLayout(doc).placements.get(key)?.title ?? null

function replica(clientID: number, from?: Y.Doc): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientID
  if (from) Y.applyUpdate(doc, Y.encodeStateAsUpdate(from))
  return doc
}

/** Both directions of y-websocket's exchange. */
function exchange(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

/** Every order in which a fresh replica can receive these updates, one at a time or merged. */
function deliveries(updates: Uint8Array[]): Uint8Array[][] {
  const permutations = (list: Uint8Array[]): Uint8Array[][] =>
    list.length <= 1
      ? [list]
      : list.flatMap((u, i) => permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [u, ...rest]))
  return [...permutations(updates), [Y.mergeUpdates(updates)]]
}

function observe(updates: Uint8Array[]): Y.Doc {
  const doc = replica(99)
  for (const u of updates) Y.applyUpdate(doc, u)
  return doc
}

/** A document as a schema 2 writer left it: K1 titled "legacy" (with schema 2's stamp), K2 untitled. */
function schema2Document(): Y.Doc {
  const doc = replica(7)
  doc.transact(() => {
    doc.getMap('meta').set('schema', 2)
    doc.getMap('panes').set(
      DEFAULT_GROUP,
      new Y.Map<unknown>([
        ['parent', null],
        ['order', 'a0'],
        ['type', 'group'],
      ]),
    )
    const tabs = doc.getMap('tabs')
    tabs.set(
      K1,
      new Y.Map<unknown>([
        ['group', DEFAULT_GROUP],
        ['order', 'a0'],
        ['title', 'legacy'],
        ['titleAt', [3, 7, 'legacy']],
      ]),
    )
    tabs.set(
      K2,
      new Y.Map<unknown>([
        ['group', DEFAULT_GROUP],
        ['order', 'a1'],
      ]),
    )
  })
  return doc
}

/** A schema 2 writer's rename: the entry's `title` only (null deletes it, as schema 2's setTitle did). */
function schema2Rename(doc: Y.Doc, key: string, title: string | null): void {
  const entry = doc.getMap('tabs').get(key) as Y.Map<unknown>
  if (title === null) entry.delete('title')
  else entry.set('title', title)
}

/** What a schema 2 reader shows: the entry's `title`, "" meaning none. */
const schema2Title = (doc: Y.Doc, key: string) =>
  ((doc.getMap('tabs').get(key) as Y.Map<unknown> | undefined)?.get('title') as string | undefined) || null

describe('custom titles (schema 3)', () => {
  // Yjs keeps the concurrent map value of the higher client id, so both id orders are tried:
  // the renaming replica's entry loses once and wins once.
  it.each([
    [1, 2],
    [2, 1],
  ])(
    'a rename that creates the entry, concurrent with a move that creates it too, keeps its title everywhere (renamer %i, mover %i)',
    (renamerId, moverId) => {
      const renamer = replica(renamerId)
      const mover = replica(moverId)
      setTitle(renamer, K1, 'renamed')
      placeTab(mover, K1, DEFAULT_GROUP, null, null)
      const updates = [Y.encodeStateAsUpdate(renamer), Y.encodeStateAsUpdate(mover)]
      for (const order of deliveries(updates)) expect(titleOf(observe(order), K1)).toBe('renamed')
      exchange(renamer, mover)
      expect([titleOf(renamer, K1), titleOf(mover, K1)]).toEqual(['renamed', 'renamed'])
    },
  )

  it("the same race written the schema 2 way loses the title when the rename's entry loses", () => {
    const renamer = replica(1)
    const mover = replica(2)
    renamer.getMap('tabs').set(
      K1,
      new Y.Map<unknown>([
        ['group', DEFAULT_GROUP],
        ['order', 'a0'],
        ['title', 'renamed'],
      ]),
    )
    placeTab(mover, K1, DEFAULT_GROUP, null, null)
    exchange(renamer, mover)
    expect(titleOf(renamer, K1)).toBeNull()
  })

  it.each([
    ['with no entry yet', false],
    ['on an existing entry', true],
  ])('concurrent renames (%s) converge on one of them in every delivery order, and a later rename beats both', (_name, placed) => {
    const base = replica(10)
    if (placed) placeTab(base, K1, DEFAULT_GROUP, null, null)
    const writers = [1, 2, 3].map((id) => replica(id, base))
    for (const [i, doc] of writers.entries()) setTitle(doc, K1, `title ${i}`)
    const updates = writers.map((doc) => Y.encodeStateAsUpdate(doc, Y.encodeStateVector(base)))
    const results = new Set(deliveries(updates).map((order) => titleOf(observe([Y.encodeStateAsUpdate(base), ...order]), K1)))
    expect(results.size).toBe(1)
    expect(['title 0', 'title 1', 'title 2']).toContain([...results][0])
    // One writer has heard of the others and renames again: that rename wins wherever it goes.
    exchange(writers[0]!, writers[1]!)
    exchange(writers[0]!, writers[2]!)
    setTitle(writers[2]!, K1, 'after all of them')
    for (const other of writers) exchange(writers[2]!, other)
    for (const doc of writers) expect(titleOf(doc, K1)).toBe('after all of them')
  })

  it('a clear hides the title (a schema 2 one too), converges with a concurrent rename, and a later rename shows again', () => {
    const doc = replica(1, schema2Document())
    setTitle(doc, K1, null)
    expect(titleOf(doc, K1)).toBeNull()
    expect(doc.getMap(TITLES_MAP).get(K1)).toBe('') // a value, so that it hides the schema 2 title beneath
    expect(schema2Title(doc, K1)).toBeNull() // and schema 2 readers see it cleared too

    const a = replica(2, doc)
    const b = replica(3, doc)
    setTitle(a, K1, 'named')
    setTitle(b, K1, 'other')
    exchange(a, b)
    setTitle(b, K1, null) // after seeing both
    setTitle(a, K2, 'meanwhile') // concurrent, on another key
    exchange(a, b)
    expect([titleOf(a, K1), titleOf(b, K1), titleOf(a, K2), titleOf(b, K2)]).toEqual([null, null, 'meanwhile', 'meanwhile'])

    const c = replica(4, a)
    const d = replica(5, a)
    setTitle(c, K2, null)
    setTitle(d, K2, 'renamed while cleared')
    exchange(c, d)
    expect(titleOf(c, K2)).toBe(titleOf(d, K2))
    expect([null, 'renamed while cleared']).toContain(titleOf(c, K2))
    setTitle(c, K2, 'back')
    exchange(c, d)
    expect(titleOf(d, K2)).toBe('back')
  })

  it('clearing a tab that has no entry and no title writes nothing', () => {
    const doc = replica(1)
    initLayout(doc)
    const before = Y.encodeStateVector(doc)
    setTitle(doc, K1, null)
    setTitle(doc, K1, '')
    expect(Y.encodeStateVector(doc)).toEqual(before)
    expect(readLayout(doc).placements.has(K1)).toBe(false)
  })

  it('closing a tab drops its title with its entry', () => {
    const doc = replica(1)
    setTitle(doc, K1, 'gone with the tab')
    removeTab(doc, K1)
    expect(doc.getMap(TITLES_MAP).has(K1)).toBe(false)
    placeTab(doc, K1, DEFAULT_GROUP, null, null) // the same key spawned again later
    expect(titleOf(doc, K1)).toBeNull()
  })

  it('a rename concurrent with a close leaves a title without an entry, which titledKeys lists for pruning', () => {
    const base = replica(10)
    setTitle(base, K1, 'before')
    const closer = replica(1, base)
    const renamer = replica(2, base)
    removeTab(closer, K1)
    setTitle(renamer, K1, 'renamed while closed')
    exchange(closer, renamer)
    for (const doc of [closer, renamer]) {
      expect(readLayout(doc).placements.has(K1)).toBe(false)
      expect([...titledKeys(doc)]).toEqual([K1])
    }
    removeTab(closer, K1) // what a prune of the key does
    exchange(closer, renamer)
    expect([...titledKeys(renamer)]).toEqual([])
  })
})

describe('schema 2 documents under schema 3', () => {
  it("a schema 3 reader shows a schema 2 document's titles", () => {
    const doc = schema2Document()
    expect(titleOf(doc, K1)).toBe('legacy')
    expect(titleOf(doc, K2)).toBeNull()
  })

  it('the first schema 3 write marks the document schema 3 and moves no title; marking again writes nothing', () => {
    const doc = replica(1, schema2Document())
    placeTab(doc, K2, DEFAULT_GROUP, K1, null)
    expect(doc.getMap('meta').get('schema')).toBe(3)
    expect(doc.getMap(TITLES_MAP).size).toBe(0)
    expect(titleOf(doc, K1)).toBe('legacy')
    const before = Y.encodeStateAsUpdate(doc)
    initLayout(doc)
    initLayout(doc)
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
  })

  it('two replicas migrating concurrently, one renaming the schema 2 title meanwhile, keep the rename', () => {
    const old = schema2Document()
    // Either client id order: the migration must not be a write that can beat the rename.
    for (const [aId, bId] of [
      [1, 2],
      [2, 1],
    ] as const) {
      const a = replica(aId, old)
      const b = replica(bId, old)
      initLayout(a)
      setTitle(a, K2, 'new on a')
      setTitle(b, K1, 'renamed on b')
      exchange(a, b)
      for (const doc of [a, b]) {
        expect([titleOf(doc, K1), titleOf(doc, K2)]).toEqual(['renamed on b', 'new on a'])
        expect(doc.getMap('meta').get('schema')).toBe(3)
      }
    }
  })

  it('two replicas that migrate by renaming the same schema 2 title concurrently converge on one rename', () => {
    const old = schema2Document()
    const a = replica(1, old)
    const b = replica(2, old)
    setTitle(a, K1, 'a')
    setTitle(b, K1, 'b')
    exchange(a, b)
    expect(titleOf(a, K1)).toBe(titleOf(b, K1))
    expect(['a', 'b']).toContain(titleOf(a, K1))
  })

  it("a newer schema's mark is not lowered", () => {
    const doc = replica(1)
    doc.getMap('meta').set('schema', 4)
    setTitle(doc, K1, 'x')
    expect(doc.getMap('meta').get('schema')).toBe(4)
  })
})

describe('mixed replicas: a schema 2 writer and a schema 3 writer on one document', () => {
  it("each reads the other's renames and clears, in turn", () => {
    const v2 = replica(1, schema2Document())
    const v3 = replica(2, v2)

    setTitle(v3, K1, 'from v3')
    exchange(v2, v3)
    expect(schema2Title(v2, K1)).toBe('from v3')

    schema2Rename(v2, K1, 'from v2')
    exchange(v2, v3)
    expect(titleOf(v3, K1)).toBe('from v2')

    schema2Rename(v2, K1, null)
    exchange(v2, v3)
    expect(titleOf(v3, K1)).toBeNull()

    setTitle(v3, K1, 'v3 again')
    exchange(v2, v3)
    expect([schema2Title(v2, K1), titleOf(v3, K1)]).toEqual(['v3 again', 'v3 again'])

    // A schema 2 viewer connecting marks the document schema 2 again; schema 3 reads the same
    // titles whatever the mark, and its next write marks it 3 again.
    v2.getMap('meta').set('schema', 2)
    schema2Rename(v2, K2, 'titled by v2')
    exchange(v2, v3)
    expect([titleOf(v3, K1), titleOf(v3, K2)]).toEqual(['v3 again', 'titled by v2'])
    setTitle(v3, K2, 'titled by v3')
    exchange(v2, v3)
    expect(v2.getMap('meta').get('schema')).toBe(3)
    expect([titleOf(v2, K2), schema2Title(v2, K2)]).toEqual(['titled by v3', 'titled by v3'])
  })

  it('a schema 2 rename concurrent with a schema 3 rename of the same tab converges on one of them', () => {
    for (const [id2, id3] of [
      [1, 2],
      [2, 1],
    ] as const) {
      const base = schema2Document()
      const v2 = replica(id2, base)
      const v3 = replica(id3, base)
      setTitle(v3, K1, 'v3 first')
      exchange(v2, v3)
      schema2Rename(v2, K1, 'from v2')
      setTitle(v3, K1, 'from v3')
      exchange(v2, v3)
      const reader = replica(9, v2)
      expect(titleOf(v2, K1)).toBe(titleOf(v3, K1))
      expect(titleOf(reader, K1)).toBe(titleOf(v3, K1))
      expect(['from v2', 'from v3']).toContain(titleOf(v3, K1))
    }
  })
})
