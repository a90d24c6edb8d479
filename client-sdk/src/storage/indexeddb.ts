/**
 * Offline persistence for browsers: y-indexeddb keeps the document (it stores each update as it
 * happens and compacts on its own); its custom-value store keeps the last key set.
 */
import { IndexeddbPersistence } from 'y-indexeddb'
import type * as Y from 'yjs'
import type { CachedKeySet, StorageProvider, WorkspaceStore } from '../api.js'

const KEY_SET = 'tabula.keySet'
const PENDING_EDITS = 'tabula.pendingEdits'

export function indexedDbStorage(prefix: string): StorageProvider {
  return {
    open(workspaceId: string, doc: Y.Doc): WorkspaceStore {
      const persistence = new IndexeddbPersistence(`${prefix}:${workspaceId}`, doc)
      let closed = false
      return {
        loaded: persistence.whenSynced.then(() => undefined),
        async readKeySet() {
          try {
            const raw: unknown = await persistence.get(KEY_SET)
            return typeof raw === 'string' ? (JSON.parse(raw) as CachedKeySet) : null
          } catch {
            return null
          }
        },
        writeKeySet(keySet) {
          if (!closed) void persistence.set(KEY_SET, JSON.stringify(keySet)).catch(() => {})
        },
        async readPendingEdits() {
          return (await persistence.get(PENDING_EDITS).catch(() => null)) === 1
        },
        writePendingEdits(pending) {
          if (!closed) void persistence.set(PENDING_EDITS, pending ? 1 : 0).catch(() => {})
        },
        async close() {
          closed = true
          await persistence.destroy()
        },
      }
    },
  }
}
