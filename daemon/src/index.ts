/**
 * @tabula/daemon: the PTY daemon, the single authority on which sessions exist (I1 in
 * docs/architecture.md "Invariants"; docs/daemon.md). createDaemon opens the state, mounts the live
 * channel, restores the manifest's sessions and serves the HTTP API as a Component of the shared
 * host.
 */
import type { Component, Logger } from '@tabula/server-kit'
import { DEFAULT_SCROLLBACK } from './defaults.js'
import { daemonRoutes, HEALTH_PATH } from './http/routes.js'
import { dispatch } from './http/router.js'
import { createLiveChannel } from './live/index.js'
import { manifestFollower } from './manifest-sync.js'
import { keepScreens } from './screen-keeper.js'
import { SessionMap } from './sessions/map.js'
import { endSurvivors, forgetSessions, restoreSessions } from './sessions/restore.js'
import type { SessionMapView } from './sessions/types.js'
import { openScreenFiles } from './state/screens.js'
import { openState } from './state/store.js'
import type { DaemonState } from './state/types.js'
import { DAEMON_VERSION } from './version.js'

export { DEFAULT_SCROLLBACK, CLOSE_GRACE_MS, STATE_FILE } from './defaults.js'
export { StateFileError } from './state/file.js'
export { WorkspaceError } from './state/store.js'
export { DAEMON_VERSION } from './version.js'
export type { SessionMapView, LiveSession, SessionChange } from './sessions/types.js'
export type { DaemonState, LegacyLayoutRow } from './state/types.js'
// For `tabula import-layouts`, which must open the state without starting or forgetting sessions.
export { openState, type StateStore } from './state/store.js'

export interface DaemonOptions {
  home: string
  log: Logger
  /** Bring back the sessions of the manifest on start (default true; `--no-restore`). */
  restore?: boolean
  /** Lines of scrollback each session's headless terminal keeps. */
  scrollback?: number
  /** Skip flood text that would scroll out unseen (default true; `--no-fast-forward`). */
  fastForward?: boolean
}

export interface DaemonComponent extends Component {
  /** True when a workspace with this id exists (the sync server refuses other rooms). */
  hasWorkspace(id: string): boolean
  /** The persistent state (workspaces, legacy rows, migrations), for the migration. */
  readonly state: DaemonState
  /** The live session map, read-only, for in-process consumers. */
  readonly sessions: SessionMapView
}

/** Throws StateFileError (naming the file) when `<home>/state.json` is unusable. */
export async function createDaemon(opts: DaemonOptions): Promise<DaemonComponent> {
  const { log } = opts
  const state = await openState(opts.home, log)
  const screens = openScreenFiles(opts.home)
  // Programs a killed daemon left running end before anything is restored: never two copies.
  const survivorsEnded = await endSurvivors(state, log)
  const sessions = new SessionMap(log)
  sessions.onChange(manifestFollower(state))
  const hasWorkspace = (id: string) => state.getWorkspace(id) !== undefined

  // Before any spawn: the live channel must see every session from its first byte.
  const live = createLiveChannel({
    sessions,
    hasWorkspace,
    log,
    scrollback: opts.scrollback ?? DEFAULT_SCROLLBACK,
    fastForward: opts.fastForward ?? true,
    version: DAEMON_VERSION,
  })

  // Also before any spawn, so every session's screen is kept from its first byte.
  const keeper = keepScreens({ sessions, files: screens, snapshot: (key) => live.snapshot(key), log })

  if (opts.restore ?? true)
    restoreSessions(sessions, state, log, { screens, prefill: (key, data) => live.prefill(key, data), survivorsEnded })
  else forgetSessions(state, log, screens)

  const routes = daemonRoutes({ state, sessions, version: DAEMON_VERSION })
  let closing: Promise<void> | undefined

  return {
    name: 'daemon',
    state,
    sessions,
    hasWorkspace,
    isPublic: (req, url) => req.method === 'GET' && url.pathname === HEALTH_PATH,
    handleRequest: (req, res, url) => dispatch(routes, req, res, url),
    handleUpgrade: (req, socket, head, url) => live.handleUpgrade(req, socket, head, url),
    close: () =>
      (closing ??= (async () => {
        // Programs first, so their last output is on the screens that are saved next.
        await sessions.stopAll()
        await keeper.saveAll(new Date())
        keeper.stop()
        await live.close()
        await state
          .flush()
          .catch((err: unknown) =>
            log.error({ err }, `the last changes to the state could not be written before shutdown: ${(err as Error).message}`),
          )
      })()),
  }
}
