/**
 * The daemon's live key set of one workspace, as this viewer last heard it. It is the only source
 * of existence (I1, docs/architecture.md "Invariants"): a full set replaces everything, deltas
 * apply in seq order.
 */
import type { Session } from '@tabula/protocol'
import type { CachedKeySet } from './api.js'
import type { LiveError, WorkspaceWatcher } from './live/types.js'

export class LiveKeySet {
  /** key -> session. Replaced wholesale by a full set. */
  readonly sessions = new Map<string, Session>()
  seq = -1
  /** True from a full set until the live channel drops: the set shown is the daemon's current one. */
  fresh = false
  /** True once any set (fresh or cached) is known. */
  known = false
  /** Anything in the set changed (its keys, a session's record, or its freshness). */
  readonly #onChange: () => void
  readonly #onRefused: (error: LiveError) => void

  /** `onRefused`: the daemon will not show this workspace (e.g. it does not exist). */
  constructor(onChange: () => void, onRefused: (error: LiveError) => void = () => {}) {
    this.#onChange = onChange
    this.#onRefused = onRefused
  }

  /** What the live client calls. */
  readonly watcher: WorkspaceWatcher = {
    onSessions: (seq, sessions) => {
      this.sessions.clear()
      for (const s of sessions) this.sessions.set(s.key, s)
      this.seq = seq
      this.fresh = true
      this.known = true
      this.#onChange()
    },
    onAdded: (seq, session) => {
      if (!this.#accept(seq)) return
      this.sessions.set(session.key, session)
      this.#onChange()
    },
    onRemoved: (seq, key) => {
      if (!this.#accept(seq)) return
      this.sessions.delete(key)
      this.#onChange()
    },
    onUpdated: (seq, session) => {
      if (!this.#accept(seq)) return
      // An update never creates a key: existence comes from full sets and additions only.
      if (this.sessions.has(session.key)) this.sessions.set(session.key, session)
      this.#onChange()
    },
    onError: (error) => this.#onRefused(error),
  }

  /** The live channel dropped: keep showing the last set, but say it may be out of date. */
  markStale(): void {
    if (!this.fresh) return
    this.fresh = false
    this.#onChange()
  }

  /** Shows a cached set until the daemon answers (never replaces a fresh one). */
  loadCache(cache: CachedKeySet): void {
    if (this.known) return
    for (const s of cache.sessions) this.sessions.set(s.key, s)
    this.seq = cache.seq
    this.known = true
    this.#onChange()
  }

  toCache(): CachedKeySet {
    return { seq: this.seq, sessions: [...this.sessions.values()], savedAt: new Date().toISOString() }
  }

  #accept(seq: number): boolean {
    // Deltas only make sense on top of a full set from the same connection, and in order.
    if (!this.fresh || seq <= this.seq) return false
    this.seq = seq
    return true
  }
}
