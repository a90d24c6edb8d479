/**
 * Presence through the sync server's awareness (docs/sync.md, "Presence"): who looks at the
 * workspace and which tab each viewer has selected per group. Selection is per viewer and lives
 * only here, never in the shared document, so one viewer's click cannot move another's view.
 */
import type { ViewerInfo } from '@tabula/protocol'
import type { Awareness } from 'y-protocols/awareness'
import type { PresenceEntry } from './api.js'

/** What this SDK publishes as its awareness state. */
export interface PresenceState {
  viewer: ViewerInfo
  viewerId: string | null
  activeTabs: Record<string, string>
}

export function publishPresence(awareness: Awareness, state: PresenceState): void {
  awareness.setLocalState(state)
}

/** Everyone's presence, tolerant of states written by other (non-SDK) clients. */
export function readPresence(awareness: Awareness): PresenceEntry[] {
  const entries: PresenceEntry[] = []
  for (const [clientId, state] of awareness.getStates()) {
    const s = state as Partial<PresenceState> | null
    if (!s || typeof s !== 'object' || !s.viewer || typeof s.viewer.name !== 'string') continue
    entries.push({
      clientId,
      viewer: { name: s.viewer.name, kind: typeof s.viewer.kind === 'string' ? s.viewer.kind : 'unknown' },
      viewerId: typeof s.viewerId === 'string' ? s.viewerId : null,
      activeTabs: isStringRecord(s.activeTabs) ? { ...s.activeTabs } : {},
      self: clientId === awareness.clientID,
    })
  }
  return entries.sort((a, b) => a.clientId - b.clientId)
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
}

/**
 * This viewer's selection per group, resolved against the tabs shown now: the chosen key when
 * it is still in that group, else the tab at the position it had (clamped), else nothing.
 */
export class ActiveTabs {
  private readonly chosen = new Map<string, { key: string; index: number }>()

  select(group: string, key: string, index: number): void {
    this.chosen.set(group, { key, index })
  }

  resolve(tabs: ReadonlyArray<{ key: string; group: string }>): Record<string, string> {
    const byGroup = new Map<string, string[]>()
    for (const t of tabs) {
      let keys = byGroup.get(t.group)
      if (!keys) byGroup.set(t.group, (keys = []))
      keys.push(t.key)
    }
    const active: Record<string, string> = {}
    for (const [group, keys] of byGroup) {
      const choice = this.chosen.get(group)
      if (choice && keys.includes(choice.key)) active[group] = choice.key
      else active[group] = keys[Math.min(choice?.index ?? 0, keys.length - 1)]!
    }
    return active
  }
}
