/**
 * Keeps the session manifest in step with the session map: one listener, data flowing one way
 * from the map to the file.
 */
import type { StateStore } from './state/store.js'
import type { SessionChange } from './sessions/types.js'

export function manifestFollower(state: StateStore): (change: SessionChange) => void {
  return (change) => {
    switch (change.type) {
      case 'added': {
        const { key, workspace, command, args, cwd, title, status } = change.session
        const { file, pid, started } = change.process
        state.putManifestEntry({
          key,
          workspace,
          command,
          args,
          cwd,
          title,
          exited: status === 'exited',
          closeOnExit: change.closeOnExit,
          file,
          pid,
          started,
        })
        return
      }
      case 'removed':
        state.removeManifestEntry(change.key)
        return
      case 'updated': {
        // Size and driver changes are not persisted: only what a restart needs (the store skips
        // a patch that changes nothing).
        const { key, title, status } = change.session
        state.patchManifestEntry(key, { title, exited: status === 'exited' })
      }
    }
  }
}
