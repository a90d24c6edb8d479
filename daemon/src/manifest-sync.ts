/**
 * Keeps the session manifest in step with the session map: one listener, data flowing one way
 * from the map to the file.
 */
import type { StateStore } from './state/store.js'
import type { SessionChange } from './sessions/types.js'

export function manifestFollower(state: StateStore): (change: SessionChange) => void {
  const known = new Map<string, { title: string | null; exited: boolean }>()
  return (change) => {
    switch (change.type) {
      case 'added': {
        const { key, workspace, command, args, cwd, title, status } = change.session
        const exited = status === 'exited'
        known.set(key, { title, exited })
        state.putManifestEntry({ key, workspace, command, args, cwd, title, exited, closeOnExit: change.closeOnExit })
        return
      }
      case 'removed':
        known.delete(change.key)
        state.removeManifestEntry(change.key)
        return
      case 'updated': {
        // Size and driver changes are not persisted: write only what a restart needs.
        const { key, title, status } = change.session
        const exited = status === 'exited'
        const before = known.get(key)
        if (before && before.title === title && before.exited === exited) return
        known.set(key, { title, exited })
        state.patchManifestEntry(key, { title, exited })
      }
    }
  }
}
