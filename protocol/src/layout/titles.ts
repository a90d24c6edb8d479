/**
 * Custom titles that survive every merge. A tab's entry is a nested Y.Map created on first
 * write. When two replicas create the entry for one key concurrently (one renames a tab while
 * another moves it, neither having heard of the other), Yjs keeps one map and discards the other
 * with everything written into it, so a rename could vanish although nothing replaced it.
 *
 * Each title write therefore carries a Lamport stamp, stored beside the title in the entry as
 * `titleAt: [counter, clientId, title | null]` (additive to SPEC §7: readers that do not know it
 * keep reading `title`, which always mirrors it; docs/sync.md describes the field). Every replica remembers, per key, the
 * highest-stamped write it has observed, including writes inside an entry that just lost (they
 * are still readable during the transaction that discards them). Whenever the entry a key has
 * now carries a lower stamp than that, the replica writes the remembered title back. A write made
 * after observing another has a higher stamp, so the latest write wins on every replica, and a
 * write is only ever replaced by one stamped later. Repairs write the same triple, so they
 * converge however many replicas make them at once.
 */
import { TABS_MAP, isMapOf, shownTitle } from './schema.js'
import { setTitle } from './edit.js'
import type * as Y from 'yjs'

/** The origin of the register's repair transactions. */
export const TITLE_REPAIR_ORIGIN = Symbol('tabula.title-repair')

/** The entry field holding the stamped title. */
export const TITLE_STAMP_FIELD = 'titleAt'

/** [Lamport counter, client id, title or null for a cleared one]. */
export type StampedTitle = readonly [counter: number, client: number, title: string | null]

const UNSTAMPED = 0

interface Register {
  clock: number
  best: Map<string, StampedTitle>
  /** The entry map each key had after the last transaction. */
  entries: Map<string, Y.Map<unknown>>
  dispose(): void
}

const registers = new WeakMap<Y.Doc, Register>()

/** Starts keeping titles on `doc`; returns a function that stops. */
export function keepTitles(doc: Y.Doc): () => void {
  const existing = registers.get(doc)
  if (existing) return existing.dispose
  const tabs = doc.getMap<unknown>(TABS_MAP)
  const register: Register = {
    clock: 0,
    best: new Map(),
    entries: new Map(),
    dispose: () => {
      doc.off('afterTransaction', afterTransaction)
      registers.delete(doc)
    },
  }
  registers.set(doc, register)

  const afterTransaction = (transaction: Y.Transaction): void => {
    if (!touchesTabs(transaction, tabs)) return
    const repairs: Array<[string, StampedTitle]> = []
    const current = new Map<string, Y.Map<unknown>>()
    for (const [key, value] of tabs) if (isMapOf(doc, value)) current.set(key, value)
    // An entry replaced in this transaction is deleted but not yet collected: its last title
    // write can still be read, even one that arrived in this very transaction. That includes
    // entries this replica never had (created and beaten within one update): Y.Map keeps the
    // beaten items for a key to the left of the winner until they are collected.
    for (const [key, before] of register.entries) {
      if (current.get(key) !== before) observe(register, key, rawStamp(before))
    }
    for (const key of transaction.changed.get(tabs as never) ?? []) {
      if (key === null) continue
      for (const loser of beatenEntries(doc, tabs, key)) observe(register, key, rawStamp(loser))
    }
    for (const [key, entry] of current) {
      const now = rawStamp(entry)
      observe(register, key, now)
      const shown = mirroredTitle(entry)
      if (now[0] !== UNSTAMPED && shown !== now[2]) {
        // A writer that does not stamp (a stock Yjs client, an older tool) changed the title:
        // adopt its change as a new write rather than undo it.
        const adopted: StampedTitle = [++register.clock, doc.clientID, shown]
        register.best.set(key, adopted)
        repairs.push([key, adopted])
      } else if (compareStamps(register.best.get(key)!, now) > 0) {
        repairs.push([key, register.best.get(key)!])
      }
    }
    register.entries = current
    for (const key of [...register.best.keys()]) if (!current.has(key)) register.best.delete(key)
    if (repairs.length > 0) {
      doc.transact(() => {
        for (const [key, stamp] of repairs) writeStamped(doc, key, stamp)
      }, TITLE_REPAIR_ORIGIN)
    }
  }
  doc.on('afterTransaction', afterTransaction)
  // Whatever the document holds already counts as observed.
  for (const [key, value] of tabs) {
    if (!isMapOf(doc, value)) continue
    register.entries.set(key, value)
    observe(register, key, rawStamp(value))
  }
  return register.dispose
}

/**
 * Sets (or with null clears) a custom title with a fresh stamp. Creates the entry at the end of
 * the first group when missing and the title is not null (as the layout module's setTitle does).
 */
export function setStampedTitle(doc: Y.Doc, key: string, title: string | null): void {
  const register = registers.get(doc)
  const value = title === '' ? null : title
  const entry = doc.getMap<unknown>(TABS_MAP).get(key)
  // Writing what is already shown changes nothing, and a fresh stamp would wrongly beat a
  // concurrent real change.
  if (isMapOf(doc, entry) ? mirroredTitle(entry) === value : value === null) return
  const counter = 1 + Math.max(register?.clock ?? 0, highestCounter(doc))
  const stamp: StampedTitle = [counter, doc.clientID, value]
  if (register) {
    register.clock = counter
    register.best.set(key, stamp)
  }
  writeStamped(doc, key, stamp)
}

/** The stamped title of an entry; an unstamped title (older writers, migration) counts as stamp 0. */
function rawStamp(entry: Y.Map<unknown>): StampedTitle {
  const stamp = lastWritten(entry, TITLE_STAMP_FIELD)
  if (isStamp(stamp)) return stamp
  const title = lastWritten(entry, 'title')
  return [UNSTAMPED, 0, shownTitle(title)]
}

/**
 * The value last written under `field`, read from the item itself so that it works on an entry
 * deleted in the current transaction (whose values `get` no longer returns).
 */
function lastWritten(entry: Y.Map<unknown>, field: string): unknown {
  const item = entry._map.get(field)
  if (!item) return undefined
  if (!item.deleted || entry._item?.deleted) {
    const content = item.content.getContent()
    return content[content.length - 1]
  }
  return undefined
}

function observe(register: Register, key: string, stamp: StampedTitle): void {
  const best = register.best.get(key)
  if (!best || compareStamps(stamp, best) > 0) register.best.set(key, stamp)
  if (stamp[0] > register.clock) register.clock = stamp[0]
}

function writeStamped(doc: Y.Doc, key: string, stamp: StampedTitle): void {
  doc.transact(() => {
    const tabs = doc.getMap<unknown>(TABS_MAP)
    if (stamp[2] !== null) setTitle(doc, key, stamp[2]) // creates the entry when missing
    const entry = tabs.get(key)
    if (!isMapOf(doc, entry)) return
    // A clear is written as an empty title (which readers show as none), not as a deletion: a
    // deletion loses to any concurrent set, while two sets resolve like the stamp beside them,
    // so title and stamp always come from the same write.
    if (stamp[2] === null) entry.set('title', '')
    entry.set(TITLE_STAMP_FIELD, [...stamp])
  })
}

function mirroredTitle(entry: Y.Map<unknown>): string | null {
  return shownTitle(entry.get('title'))
}

function compareStamps(a: StampedTitle, b: StampedTitle): number {
  if (a[0] !== b[0]) return a[0] - b[0]
  if (a[1] !== b[1]) return a[1] - b[1]
  // Two unstamped titles: one with a title beats none (an entry that lost its title to a race).
  return (a[2] === null ? 0 : 1) - (b[2] === null ? 0 : 1)
}

function isStamp(value: unknown): value is StampedTitle {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    Number.isSafeInteger(value[0]) &&
    Number.isSafeInteger(value[1]) &&
    (value[2] === null || typeof value[2] === 'string')
  )
}

function highestCounter(doc: Y.Doc): number {
  let highest = 0
  for (const value of doc.getMap<unknown>(TABS_MAP).values()) {
    if (!isMapOf(doc, value)) continue
    const stamp = value.get(TITLE_STAMP_FIELD)
    if (isStamp(stamp) && stamp[0] > highest) highest = stamp[0]
  }
  return highest
}

/** True when the transaction changed the tabs map or something inside one of its entries. */
function touchesTabs(transaction: Y.Transaction, tabs: Y.Map<unknown>): boolean {
  for (const type of transaction.changed.keys()) if ((type as unknown) === tabs || type._item?.parent === tabs) return true
  return false
}

/** The entries written under `key` that lost to the current one and are not collected yet. */
function beatenEntries(doc: Y.Doc, tabs: Y.Map<unknown>, key: string): Y.Map<unknown>[] {
  const beaten: Y.Map<unknown>[] = []
  let item = tabs._map.get(key)?.left ?? null
  while (item !== null && item.deleted) {
    const type = (item.content as { type?: unknown }).type
    if (!isMapOf(doc, type)) break // collected (or not an entry): nothing older is readable
    beaten.push(type)
    item = item.left
  }
  return beaten
}
