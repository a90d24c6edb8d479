/**
 * What a workspace view keeps in its store (docs/sdk.md, "Offline and reconnecting"): the last key set the daemon
 * confirmed, written shortly after it changes, and whether layout edits made here are still
 * waiting for the sync server, so that a restarted viewer shows its workspace before it can
 * reach the servers.
 */
import type { CachedKeySet, WorkspaceStore } from '../api.js'
import type { LiveKeySet } from '../key-set.js'

/** How long a key-set change waits before it is written to storage (changes come in bursts). */
const KEY_SET_SAVE_DELAY_MS = 200

export class OfflineState {
  #store: WorkspaceStore | null = null
  #pendingEdits = false
  #loaded = false
  #cacheLoaded = false
  #saveTimer: ReturnType<typeof setTimeout> | null = null
  #unsaved: CachedKeySet | null = null

  /** Layout edits were made that the sync server has not received yet. */
  get pendingEdits(): boolean {
    return this.#pendingEdits
  }

  /** The store has been read (or failed to be). False without one. */
  get loaded(): boolean {
    return this.#loaded
  }

  /** A saved key set was found and shown. */
  get cacheLoaded(): boolean {
    return this.#cacheLoaded
  }

  /**
   * Keeps state in `store` from now on, and reads it: a saved key set goes into `keySet` (which
   * ignores it once a fresh one came), and edits that had not reached the sync server before a
   * reload are still waiting. Resolves when done, also when the store failed: a broken store only
   * costs the offline start.
   */
  async open(store: WorkspaceStore, keySet: LiveKeySet, closed: () => boolean, synced: () => boolean): Promise<void> {
    this.#store = store
    try {
      await store.loaded
      const cache = await store.readKeySet()
      if (cache && !closed()) {
        keySet.loadCache(cache)
        this.#cacheLoaded = true
      }
      if (!closed() && !synced() && (await store.readPendingEdits?.())) this.#pendingEdits = true
    } catch {
      // The servers still answer.
    }
    this.#loaded = true
  }

  /**
   * Remembers the set while it is fresh and writes it a moment later (changes come in bursts),
   * even if the channel has dropped by then: it is still the last set the daemon confirmed.
   */
  keySetChanged(keySet: LiveKeySet): void {
    if (!keySet.fresh || !this.#store) return
    this.#unsaved = keySet.toCache()
    this.#saveTimer ??= setTimeout(() => {
      this.#saveTimer = null
      this.#saveKeySet()
    }, KEY_SET_SAVE_DELAY_MS)
  }

  /** The flag the status reports, kept in the store so that it survives a reload. */
  setPendingEdits(pending: boolean): void {
    if (this.#pendingEdits === pending) return
    this.#pendingEdits = pending
    this.#store?.writePendingEdits?.(pending)
  }

  /** Writes a key set still waiting for its timer, then closes the store. */
  async close(): Promise<void> {
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer)
      this.#saveTimer = null
      this.#saveKeySet()
    }
    await this.#store?.close()
  }

  #saveKeySet(): void {
    if (this.#unsaved) this.#store?.writeKeySet(this.#unsaved)
    this.#unsaved = null
  }
}
