/**
 * Persistence in memory: survives a viewer's reconnects and lets a program hand one store to
 * a "restarted" client in the same process (tests, previews). Not kept across a process exit.
 */
import * as Y from 'yjs'
import type { CachedKeySet, StorageProvider, WorkspaceStore } from '../api.js'

export function memoryStorage(): StorageProvider {
  const docs = new Map<string, Uint8Array>()
  const keySets = new Map<string, CachedKeySet>()
  const pending = new Map<string, boolean>()
  return {
    open(workspaceId: string, doc: Y.Doc): WorkspaceStore {
      const saved = docs.get(workspaceId)
      if (saved) Y.applyUpdate(doc, saved)
      const save = (): void => void docs.set(workspaceId, Y.encodeStateAsUpdate(doc))
      doc.on('update', save)
      return {
        loaded: Promise.resolve(),
        readKeySet: async () => keySets.get(workspaceId) ?? null,
        writeKeySet: (keySet) => void keySets.set(workspaceId, keySet),
        readPendingEdits: async () => pending.get(workspaceId) ?? false,
        writePendingEdits: (value) => void pending.set(workspaceId, value),
        async close() {
          doc.off('update', save)
          save()
        },
      }
    },
  }
}
