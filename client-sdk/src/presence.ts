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
 * What this viewer publishes: its name, its live-channel id, and its selection in the groups it
 * shows (all of them unless told otherwise). A state equal to the last one published is not
 * sent again, so a change elsewhere costs no awareness traffic.
 */
export class PresencePublisher {
  readonly #awareness: Awareness
  readonly #viewer: ViewerInfo
  readonly #viewerId: () => string | null
  readonly #choice = new ActiveTabs()
  /** The groups this viewer shows; null: all of them. Only their selections are published. */
  #visible: ReadonlySet<string> | null = null
  #signature = ''

  constructor(awareness: Awareness, viewer: ViewerInfo, viewerId: () => string | null) {
    this.#awareness = awareness
    this.#viewer = viewer
    this.#viewerId = viewerId
  }

  select(tab: { group: string; key: string; index: number }): void {
    this.#choice.select(tab.group, tab.key, tab.index)
  }

  setVisibleGroups(groups: readonly string[] | null): void {
    this.#visible = groups === null ? null : new Set(groups)
  }

  /** group -> the tab this viewer has selected there, among `tabs`. */
  activeTabs(tabs: ReadonlyArray<{ key: string; group: string }>): Record<string, string> {
    return this.#choice.resolve(tabs)
  }

  publish(tabs: ReadonlyArray<{ key: string; group: string }>): void {
    const state: PresenceState = {
      viewer: this.#viewer,
      viewerId: this.#viewerId(),
      activeTabs: visibleOnly(this.#choice.resolve(tabs), this.#visible),
    }
    const signature = JSON.stringify(state)
    if (signature === this.#signature) return
    this.#signature = signature
    publishPresence(this.#awareness, state)
  }
}

/** What others see of this viewer's selection: the groups it shows, or all of them. */
function visibleOnly(active: Record<string, string>, visible: ReadonlySet<string> | null): Record<string, string> {
  if (visible === null) return active
  return Object.fromEntries(Object.entries(active).filter(([group]) => visible.has(group)))
}

/**
 * This viewer's selection per group, resolved against the tabs shown now: the chosen key when
 * it is still in that group, else the tab at the position it had (clamped), else nothing.
 */
export class ActiveTabs {
  readonly #chosen = new Map<string, { key: string; index: number }>()

  select(group: string, key: string, index: number): void {
    this.#chosen.set(group, { key, index })
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
      const choice = this.#chosen.get(group)
      if (choice && keys.includes(choice.key)) active[group] = choice.key
      else active[group] = keys[Math.min(choice?.index ?? 0, keys.length - 1)]!
    }
    return active
  }
}
