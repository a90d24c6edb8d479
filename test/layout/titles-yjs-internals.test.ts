/**
 * Pins the Yjs behaviour protocol/src/layout/titles.ts is built on (docs/sync.md, "Custom titles
 * that survive a race"). When two replicas create a tab's entry concurrently, Yjs keeps one map
 * and deletes the other; keepTitles rescues a title written into the losing map by reading it
 * in `afterTransaction` of the transaction that deletes it, before Yjs collects it, through
 * Yjs internals (`Y.Map._map`, `Item.left`, `Item.deleted`, `Item.content`). Those are not API:
 * a Yjs upgrade that collects earlier, or changes those fields, must fail here, loudly, rather
 * than let titles vanish in the field one race in a thousand.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DEFAULT_GROUP, keepTitles, placeTab, readLayout, setStampedTitle, setTitle, TABS_MAP } from '@tabula/protocol'

const KEY = 'tab-31415926-5358-4979-8323-846264338327'
const TITLE = 'renamed in the losing entry'
/** Yjs orders concurrent inserts under one map key by client id; the higher one is kept. */
const LOSER_CLIENT = 1
const WINNER_CLIENT = 2
const OBSERVER_CLIENT = 3

/** Two concurrent first writes to KEY's entry: a rename (which loses) and a placement (which wins). */
function race(stamped = false): { loser: Y.Doc; winner: Y.Doc; fromLoser: Uint8Array; fromWinner: Uint8Array } {
  const loser = new Y.Doc()
  loser.clientID = LOSER_CLIENT
  const winner = new Y.Doc()
  winner.clientID = WINNER_CLIENT
  if (stamped) setStampedTitle(loser, KEY, TITLE)
  else setTitle(loser, KEY, TITLE)
  placeTab(winner, KEY, DEFAULT_GROUP, null, null)
  return { loser, winner, fromLoser: Y.encodeStateAsUpdate(loser), fromWinner: Y.encodeStateAsUpdate(winner) }
}

/** The last value written under `field` of a map, read from its item (what titles.ts's lastWritten does). */
function rawField(map: Y.Map<unknown>, field: string): unknown {
  const item = map._map.get(field)
  if (!item) return undefined
  const content = item.content.getContent()
  return content[content.length - 1]
}

describe('the Yjs internals keepTitles relies on', () => {
  it('the race is real: without keepTitles, the title written into the losing entry is gone', () => {
    const { fromLoser, fromWinner } = race()
    const observer = new Y.Doc()
    Y.applyUpdate(observer, Y.mergeUpdates([fromLoser, fromWinner]))
    expect(readLayout(observer).placements.get(KEY)?.title ?? null).toBeNull()
  })

  it('a replica that held the losing entry can still read its title in afterTransaction', () => {
    const { loser, fromWinner } = race()
    const tabs = loser.getMap<unknown>(TABS_MAP)
    const mine = tabs.get(KEY) as Y.Map<unknown>
    const seen: Array<{ replaced: boolean; deleted: boolean | undefined; title: unknown }> = []
    loser.on('afterTransaction', () => {
      seen.push({ replaced: tabs.get(KEY) !== mine, deleted: mine._item?.deleted, title: rawField(mine, 'title') })
    })
    Y.applyUpdate(loser, fromWinner)
    expect(seen).toEqual([{ replaced: true, deleted: true, title: TITLE }])
    expect((tabs.get(KEY) as Y.Map<unknown>).get('title')).toBeUndefined()
  })

  it.each([
    ['both in one update', (o: Y.Doc, l: Uint8Array, w: Uint8Array) => Y.applyUpdate(o, Y.mergeUpdates([l, w]))],
    ['the loser after the winner', (o: Y.Doc, l: Uint8Array, w: Uint8Array) => (Y.applyUpdate(o, w), Y.applyUpdate(o, l))],
  ])('a replica that never had the losing entry finds it, readable, left of the winner (%s)', (_name, deliver) => {
    const { fromLoser, fromWinner } = race()
    const observer = new Y.Doc()
    observer.clientID = OBSERVER_CLIENT
    const tabs = observer.getMap<unknown>(TABS_MAP)
    const found: unknown[] = []
    observer.on('afterTransaction', (transaction: Y.Transaction) => {
      // keepTitles looks at every key the transaction changed in the tabs map.
      if (!transaction.changed.get(tabs as never)?.has(KEY)) return
      const left = tabs._map.get(KEY)?.left ?? null
      if (left === null) return // the winner alone so far
      const type = (left.content as { type?: unknown }).type
      found.push({ deleted: left.deleted, isMap: type instanceof Y.Map, title: type instanceof Y.Map ? rawField(type, 'title') : undefined })
    })
    deliver(observer, fromLoser, fromWinner)
    expect(found).toEqual([{ deleted: true, isMap: true, title: TITLE }])
  })

  it('so keepTitles brings the title back on every replica, in either order', () => {
    const { loser, winner, fromLoser, fromWinner } = race(true)
    keepTitles(loser)
    keepTitles(winner)
    const observer = new Y.Doc()
    observer.clientID = OBSERVER_CLIENT
    keepTitles(observer)
    Y.applyUpdate(observer, Y.mergeUpdates([fromLoser, fromWinner]))
    Y.applyUpdate(loser, fromWinner)
    Y.applyUpdate(winner, fromLoser)
    for (const doc of [observer, loser, winner]) expect(readLayout(doc).placements.get(KEY)?.title).toBe(TITLE)
  })
})
