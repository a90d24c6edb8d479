/**
 * Brings back the manifest's sessions after a restart, under the same keys, so the keys a layout
 * document holds stay valid (SPEC §5 "State"). What cannot come back is dropped with a log line
 * rather than kept as a tab with nothing behind it.
 */
import type { Logger } from '@tabula/protocol/server'
import type { StateStore } from '../state/store.js'
import { LaunchError } from './launch.js'
import type { SessionMap } from './map.js'
import { planSpawn } from './plan.js'

export function restoreSessions(sessions: SessionMap, state: StateStore, log: Logger): number {
  let restored = 0
  for (const entry of state.manifest()) {
    const drop = (reason: string) => {
      log.warn({ key: entry.key, workspace: entry.workspace }, `not restoring session ${entry.key}: ${reason}`)
      state.removeManifestEntry(entry.key)
    }
    const workspace = state.getWorkspace(entry.workspace)
    if (!workspace) {
      drop(`its workspace ${entry.workspace} no longer exists`)
      continue
    }
    // Running a finished command again could repeat its side effects; its tab goes instead.
    if (entry.exited) {
      drop('its process had already exited')
      continue
    }
    if (sessions.get(entry.key)) continue
    try {
      const spec = planSpawn(
        entry.key,
        workspace,
        { command: entry.command, args: entry.args, cwd: entry.cwd, closeOnExit: entry.closeOnExit },
        entry.title,
      )
      sessions.spawn(spec)
      restored++
    } catch (err) {
      drop(err instanceof LaunchError ? err.message : `it failed to start (${(err as Error).message})`)
    }
  }
  if (restored) log.info(`restored ${restored} session(s)`)
  return restored
}

/** `--no-restore`: start empty, and forget the old sessions so a later start does not revive them. */
export function forgetSessions(state: StateStore, log: Logger): void {
  const entries = state.manifest()
  for (const entry of entries) state.removeManifestEntry(entry.key)
  if (entries.length) log.info(`--no-restore: forgot ${entries.length} session(s) of the last run`)
}
