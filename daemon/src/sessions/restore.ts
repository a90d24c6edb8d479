/**
 * Brings back the manifest's sessions after a restart, under the same keys, so the keys a layout
 * document holds stay valid. What cannot come back is dropped with a log line
 * rather than kept as a tab with nothing behind it. Before that, programs of a daemon that died
 * without ending them are ended, so a restart never runs a second copy (docs/daemon.md "Restore").
 */
import type { Logger } from '@tabula/server-kit'
import type { SavedScreen, ScreenFiles } from '../state/screens.js'
import type { StateStore } from '../state/store.js'
import { LaunchError } from './launch.js'
import type { SessionMap } from './map.js'
import { planSpawn } from './plan.js'
import { endSession, sessionSurvives } from './process-group.js'
import { restartMarker, type PreviousEnd } from './marker.js'

/**
 * Ends what still runs of the manifest's sessions: the programs (and their jobs) of a daemon
 * that was killed (kill -9, out of memory, a crash) and could not end them. A pid counts only
 * with the start time recorded for it, so a process that merely reuses the number is left alone
 * (sessionSurvives). Resolves, per key, when its survivors were ended.
 */
export async function endSurvivors(state: StateStore, log: Logger): Promise<Map<string, Date>> {
  const ended = new Map<string, Date>()
  await Promise.all(
    state.manifest().map(async (entry) => {
      if (entry.pid === null || entry.started === null || !sessionSurvives(entry.pid, entry.started)) return
      log.warn(
        { key: entry.key, pid: entry.pid },
        `ending ${entry.command} (pid ${entry.pid}) of session ${entry.key}: it outlived the previous daemon`,
      )
      await endSession(entry.pid)
      ended.set(entry.key, new Date())
    }),
  )
  return ended
}

export interface RestoreOptions {
  /** Saved screens; a restored session shows its own above the marker line. */
  screens: ScreenFiles
  /** Writes bytes into a restored session's screen, before its new program's first byte. */
  prefill(key: string, data: Uint8Array): void
  /** Keys whose programs endSurvivors ended, and when. */
  survivorsEnded: Map<string, Date>
}

export function restoreSessions(sessions: SessionMap, state: StateStore, log: Logger, opts: RestoreOptions): number {
  let restored = 0
  const startedAt = new Date()
  for (const entry of state.manifest()) {
    const drop = (reason: string) => {
      log.warn({ key: entry.key, workspace: entry.workspace }, `not restoring session ${entry.key}: ${reason}`)
      state.removeManifestEntry(entry.key)
      opts.screens.remove(entry.key)
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
    const saved = opts.screens.read(entry.key)
    try {
      const spec = planSpawn(
        entry.key,
        workspace,
        {
          command: entry.command,
          args: entry.args,
          cwd: entry.cwd,
          closeOnExit: entry.closeOnExit,
          // The old screen is laid out at its own size; the new program starts at it too.
          ...(saved ? { cols: saved.cols, rows: saved.rows } : {}),
        },
        entry.title,
        // The executable it ran, not whatever the command names on the daemon's PATH now.
        entry.file ?? undefined,
      )
      sessions.spawn(spec)
      if (saved) opts.prefill(entry.key, restoredScreen(saved, previousEnd(saved, opts.survivorsEnded.get(entry.key), startedAt)))
      restored++
    } catch (err) {
      drop(err instanceof LaunchError ? err.message : `it failed to start (${(err as Error).message})`)
    }
  }
  // Screens of sessions the manifest no longer names (closed while a save was under way).
  for (const key of opts.screens.keys()) if (!sessions.get(key)) opts.screens.remove(key)
  if (restored) log.info(`restored ${restored} session(s)`)
  return restored
}

/** `--no-restore`: start empty, and forget the old sessions so a later start does not revive them. */
export function forgetSessions(state: StateStore, log: Logger, screens: ScreenFiles): void {
  const entries = state.manifest()
  for (const entry of entries) state.removeManifestEntry(entry.key)
  for (const key of screens.keys()) screens.remove(key)
  if (entries.length) log.info(`--no-restore: forgot ${entries.length} session(s) of the last run`)
}

function previousEnd(saved: SavedScreen, survivorEnded: Date | undefined, startedAt: Date): PreviousEnd {
  if (saved.endedAt) return { kind: 'stopped', at: new Date(saved.endedAt) }
  if (survivorEnded) return { kind: 'ended-on-restart', at: survivorEnded }
  return { kind: 'lost', before: startedAt, lastSaved: new Date(saved.savedAt) }
}

/** The old screen, then the marker line, ready for a fresh headless terminal. */
function restoredScreen(saved: SavedScreen, end: PreviousEnd): Uint8Array {
  return Buffer.from(saved.data + restartMarker(end), 'utf8')
}
