/**
 * The one-shot conversion of a v1 layout row (docs/sync.md, "Migration from the v1 layout JSON").
 *
 * A v1 row is a list of tab entries, each with a mosaic of pane groups. The same session could
 * appear under several entries (the corruption the fixture shows: one Claude tab four times), so
 * the conversion identifies a tab by the session it names, keeps the first entry for each, and
 * drops everything that belongs to one client (the active tab, session ids).
 */
import type * as Y from 'yjs'
import { generateNKeysBetween } from 'fractional-indexing'
import { isCanonicalKey } from '../keys.js'
import { DEFAULT_GROUP, TABS_MAP, shownTitle } from './schema.js'
import { initLayout, isEmptyLayout, setTitle, tabEntry } from './edit.js'

export interface V1Conversion {
  /** Unique canonical keys in order of first occurrence, with their titles. */
  tabs: Array<{ key: string; title: string | null }>
  /** Tab entries in the v1 row. */
  before: number
  /** Tabs after deduplication. */
  after: number
  /** Entries that named no canonical key, with the reason (kept out of the document, reported). */
  skipped?: string[]
}

/** Parses a v1 `layout_json` and converts it. Throws an Error saying what is wrong when the row is not a v1 layout. */
export function convertV1Layout(layoutJson: string): V1Conversion {
  let parsed: unknown
  try {
    parsed = JSON.parse(layoutJson)
  } catch (err) {
    throw new Error(`layout_json is not valid JSON: ${(err as Error).message}`)
  }
  if (!isObject(parsed) || !Array.isArray(parsed.tabs)) throw new Error('layout_json is not a v1 layout: it has no "tabs" array')

  const tabs: V1Conversion['tabs'] = []
  const seen = new Set<string>()
  const skipped: string[] = []
  parsed.tabs.forEach((entry: unknown, index: number) => {
    const key = keyOfEntry(entry)
    if (typeof key !== 'string') {
      skipped.push(`tab entry ${index}: ${key.problem}`)
      return
    }
    if (seen.has(key)) return
    seen.add(key)
    const title = isObject(entry) ? shownTitle(entry.title) : null
    tabs.push({ key, title })
  })
  return { tabs, before: parsed.tabs.length, after: tabs.length, skipped }
}

/**
 * A tab entry's canonical key: the `attachAgentName` of its pane group's item, else
 * `tab-<paneGroupId>`. The pane group is the one the entry's `mosaicTree` names, else its only
 * (or first) pane group. Uuids are lowercased, as canonical keys are.
 */
function keyOfEntry(entry: unknown): string | { problem: string } {
  if (!isObject(entry)) return { problem: 'not an object' }
  const groups = isObject(entry.paneGroups) ? entry.paneGroups : {}
  const groupIds = Object.keys(groups)
  const paneGroupId = typeof entry.mosaicTree === 'string' && entry.mosaicTree in groups ? entry.mosaicTree : groupIds[0]
  if (paneGroupId === undefined) return { problem: 'no pane group' }
  const group = groups[paneGroupId]
  const items = isObject(group) && Array.isArray(group.items) ? group.items : []
  const named = items.find(
    (item): item is { attachAgentName: string } =>
      isObject(item) && typeof item.attachAgentName === 'string' && item.attachAgentName !== '',
  )
  const candidate = named ? named.attachAgentName : `tab-${paneGroupId}`
  for (const key of [candidate, lowercaseUuids(candidate)]) if (isCanonicalKey(key)) return key
  return { problem: `"${candidate}" is not a canonical session key` }
}

function lowercaseUuids(key: string): string {
  return key.replace(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/g, (u) => u.toLowerCase())
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Writes a conversion into an empty document, in one transaction: schema 3, the default group,
 * and the tabs in order with their titles. Refuses (returns false) when the document is not
 * empty, so running the migration again can neither duplicate tabs nor overwrite later edits.
 */
export function seedLayout(doc: Y.Doc, conversion: V1Conversion): boolean {
  if (!isEmptyLayout(doc)) return false
  // Consecutive integer keys (a0, a1, ...): one writer, no concurrency, so no jitter is needed.
  const orders = generateNKeysBetween(null, null, conversion.tabs.length)
  doc.transact(() => {
    initLayout(doc)
    const tabs = doc.getMap<unknown>(TABS_MAP)
    conversion.tabs.forEach(({ key, title }, i) => {
      if (tabs.has(key)) return
      tabs.set(key, tabEntry(doc, DEFAULT_GROUP, orders[i]!))
      if (title !== null) setTitle(doc, key, title)
    })
  })
  return true
}
