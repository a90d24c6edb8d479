/**
 * The one constructor of tabs in the codebase (I7, docs/architecture.md "Invariants"). A tab list
 * is a projection: the daemon's live keys, filtered through nothing else and placed by the layout.
 * The layout can reorder and retitle tabs, but it can never add one (I3): an entry with no live key
 * is skipped.
 */
import { DEFAULT_GROUP, clampTitle, kindOfKey, type LayoutView, type Session } from '@tabula/protocol'
import type { Tab } from './api.js'

/**
 * Joins the live sessions with the layout:
 * - each group of the layout, in tree order, lists its placed live keys in layout order;
 * - live keys with no placement (or placed in a group the view does not list) follow at the
 *   end of the first group, oldest first (createdAt, then key);
 * - layout entries with no live session are never shown; no key is shown twice.
 *
 * Pure: same inputs, same output, on every replica.
 */
export function deriveTabs(live: ReadonlyMap<string, Session>, layout: LayoutView): Tab[] {
  const groups = layout.groups.length > 0 ? layout.groups : [DEFAULT_GROUP]
  const firstGroup = groups[0]!
  const shown = new Set<string>()
  const tabs: Tab[] = []
  const placed = new Set<string>()
  for (const group of groups) for (const p of layout.tabsByGroup.get(group) ?? []) placed.add(p.key)

  for (const group of groups) {
    let index = 0
    for (const placement of layout.tabsByGroup.get(group) ?? []) {
      const session = live.get(placement.key)
      if (!session || shown.has(placement.key)) continue
      shown.add(placement.key)
      tabs.push(makeTab(session, placement.title, group, index++))
    }
    if (group === firstGroup) {
      // Appended after the first group's placed tabs, before the next group starts.
      const unplaced = [...live.values()].filter((s) => !placed.has(s.key)).sort(byCreation)
      for (const session of unplaced) {
        if (shown.has(session.key)) continue
        shown.add(session.key)
        tabs.push(makeTab(session, null, group, index++))
      }
    }
  }
  return tabs
}

/**
 * The title a viewer shows (docs/sdk.md): custom, else the program's own, else the command. The
 * command is shown by its name, as terminals show it: "/usr/bin/bash" reads "bash".
 */
export function displayTitle(customTitle: string | null, session: Session): string {
  return clampTitle(customTitle || session.title || commandName(session.command) || session.key)
}

function commandName(command: string | undefined): string {
  return command?.slice(command.lastIndexOf('/') + 1) ?? ''
}

function makeTab(session: Session, customTitle: string | null, group: string, index: number): Tab {
  return {
    key: session.key,
    kind: session.kind ?? kindOfKey(session.key) ?? 'terminal',
    title: displayTitle(customTitle, session),
    customTitle: customTitle || null,
    group,
    index,
    status: session.status,
    exitCode: session.exitCode ?? null,
  }
}

function byCreation(a: Session, b: Session): number {
  const at = a.createdAt ?? ''
  const bt = b.createdAt ?? ''
  return at < bt ? -1 : at > bt ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
