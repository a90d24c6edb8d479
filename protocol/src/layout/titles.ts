/**
 * Custom titles, schema 3 (docs/sync.md, "Custom titles"). A title lives in the top-level
 * `titles` map under its tab's canonical key, so two replicas that write it concurrently write
 * one map key, and Yjs' own map rule picks the same winner everywhere (a write made after
 * receiving another always beats it). Schema 2 kept the title inside the tab's entry, a nested
 * map that two replicas can create concurrently; Yjs then keeps one of the two maps and a title
 * written into the other is gone. Nothing here reads Yjs internals.
 *
 * Schema 2 readers read `title` in the entry, so every write also puts the title there when the
 * entry exists, and marks the entry (`titleSchema: 3`, written once per entry). In a marked entry,
 * `title` is the title: schema 3 writes it with every rename, and a writer that knows only schema 2
 * writes (or deletes) the same field, so its renames and clears are seen too. The titles map is
 * what a replica shows when the entry holds no schema 3 title: the entry that carried it lost a
 * concurrent creation, or there is no entry. An unmarked entry's own title is a schema 2 title,
 * shown until the key has one in the titles map.
 */
import type * as Y from 'yjs'
import { TABS_MAP, TITLES_MAP, isMapOf, shownTitle } from './schema.js'

/** The entry field that marks an entry whose `title` a schema 3 writer keeps. */
export const TITLE_SCHEMA_FIELD = 'titleSchema'
const TITLE_SCHEMA_MARK = 3

/**
 * What a clear writes: a value rather than a deletion, so that a clear and a concurrent rename
 * settle as two renames do (a deletion loses to any concurrent set), and so that it hides a
 * schema 2 title in an entry.
 */
export const CLEARED_TITLE = ''

/**
 * The custom title of `key`: the one rule every reader applies. `entry` is the key's tab entry
 * when it has one.
 */
export function readTitle(doc: Y.Doc, key: string, entry: Y.Map<unknown> | undefined): string | null {
  const inEntry = entry?.get('title')
  if (entry?.has(TITLE_SCHEMA_FIELD)) return shownTitle(inEntry)
  const titles = doc.getMap<unknown>(TITLES_MAP)
  if (titles.has(key)) return shownTitle(titles.get(key))
  return shownTitle(inEntry)
}

/** The custom title of `key`, looking its entry up. */
export function titleOf(doc: Y.Doc, key: string): string | null {
  const entry = doc.getMap<unknown>(TABS_MAP).get(key)
  return readTitle(doc, key, isMapOf(doc, entry) ? entry : undefined)
}

/**
 * Writes a title (or CLEARED_TITLE) for `key` into the titles map and into `entry`, marking the
 * entry the first time. Call inside a transaction.
 */
export function writeTitle(doc: Y.Doc, key: string, entry: Y.Map<unknown> | undefined, title: string): void {
  doc.getMap<unknown>(TITLES_MAP).set(key, title)
  if (!entry) return
  entry.set('title', title)
  if (!entry.has(TITLE_SCHEMA_FIELD)) entry.set(TITLE_SCHEMA_FIELD, TITLE_SCHEMA_MARK)
}

/** Drops `key`'s title with its entry (a closed or pruned tab). */
export function deleteTitle(doc: Y.Doc, key: string): void {
  const titles = doc.getMap<unknown>(TITLES_MAP)
  if (titles.has(key)) titles.delete(key)
}

/**
 * The keys with a stored title. A title can outlive its entry (a close, and a rename made
 * concurrently on another replica: the rename's set beats the close's delete), so pruning looks
 * at these keys as well as at the entries.
 */
export function titledKeys(doc: Y.Doc): IterableIterator<string> {
  return doc.getMap<unknown>(TITLES_MAP).keys()
}
