/**
 * The daemon's HTTP API (docs/daemon.md, "HTTP API"). Handlers validate everything first and change
 * state last, so a refused request leaves nothing half-done.
 */
import type { ServerResponse } from 'node:http'
import { stat } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import {
  MAX_SESSIONS,
  ROUTES,
  keyProblem,
  newTabKey,
  type ClosedSession,
  type RemovedWorkspace,
  type SessionList,
  type Workspace,
} from '@tabula/protocol'
import { HttpError, sendJson } from '@tabula/server-kit'
import { createWorkspaceRequestSchema, spawnRequestSchema } from '@tabula/protocol/validate'
import { LaunchError } from '../sessions/launch.js'
import type { SessionMap } from '../sessions/map.js'
import { planSpawn } from '../sessions/plan.js'
import { WorkspaceError, type StateStore } from '../state/store.js'
import { StateWriteError } from '../state/durable.js'
import { readBody } from './body.js'
import type { Route } from './router.js'

export const HEALTH_PATH = ROUTES.health.pattern

export interface RouteContext {
  state: StateStore
  sessions: SessionMap
  version: string
}

export function daemonRoutes({ state, sessions, version }: RouteContext): Route[] {
  function requireWorkspace(id: string): Workspace {
    const workspace = state.getWorkspace(id)
    if (!workspace) throw new HttpError(404, 'not_found', `no workspace with id ${id}`)
    return workspace
  }

  function sessionList(workspace: string): SessionList {
    return { seq: sessions.seq, sessions: sessions.list(workspace).map((s) => s.info()) }
  }

  return [
    {
      ...ROUTES.health,
      handler: (_req, res) => sendJson(res, 200, { ok: true, version }),
    },
    {
      ...ROUTES.listWorkspaces,
      handler: (_req, res) => sendJson(res, 200, state.listWorkspaces()),
    },
    {
      ...ROUTES.ensureWorkspace,
      async handler(req, res) {
        const body = await readBody(req, createWorkspaceRequestSchema)
        await requireDirectoryForNew(state, body.path)
        const { workspace, created } = await ensureWorkspace(state, body)
        sendJson(res, created ? 201 : 200, workspace)
      },
    },
    {
      ...ROUTES.getWorkspace,
      handler: (_req, res, { ws }) => sendJson(res, 200, requireWorkspace(ws!)),
    },
    {
      // Forgets a workspace. Refused while it has sessions, running or exited: those are someone's
      // programs and screens, and closing them is a separate, explicit step (docs/daemon.md).
      ...ROUTES.removeWorkspace,
      async handler(_req, res, { ws }) {
        const workspace = requireWorkspace(ws!)
        const live = sessions.list(workspace.id)
        if (live.length > 0) {
          throw new HttpError(
            409,
            'conflict',
            `workspace ${workspace.name} (${workspace.path}) still has ${live.length} session(s); close them first (tabula rm --close-sessions does both)`,
          )
        }
        try {
          await state.removeWorkspace(workspace.id)
        } catch (err) {
          if (!(err instanceof StateWriteError)) throw err
          throw new HttpError(507, 'insufficient_storage', `workspace ${workspace.id} was not removed: ${err.message}`)
        }
        sendJson(res, 200, { id: workspace.id, removed: true } satisfies RemovedWorkspace)
      },
    },
    {
      ...ROUTES.listSessions,
      handler(_req, res, { ws }) {
        sendJson(res, 200, sessionList(requireWorkspace(ws!).id))
      },
    },
    {
      ...ROUTES.spawnSession,
      async handler(req, res, { ws }) {
        const body = await readBody(req, spawnRequestSchema)
        const workspace = requireWorkspace(ws!)
        const key = body.key ?? newTabKey()
        const problem = keyProblem(key, workspace.id)
        if (problem) throw new HttpError(400, 'invalid_key', problem)
        const existing = sessions.get(key)
        if (existing) {
          if (existing.workspace !== workspace.id) {
            throw new HttpError(409, 'conflict', `session ${key} already exists in workspace ${existing.workspace}`)
          }
          return sendJson(res, 200, { session: existing.info() })
        }
        const running = state.listWorkspaces().reduce((n, w) => n + sessions.list(w.id).length, 0)
        if (running >= MAX_SESSIONS) {
          throw new HttpError(429, 'limit_reached', `the daemon already runs ${MAX_SESSIONS} sessions, the most it takes; close some first`)
        }
        // No await between the check above and the spawn: two racing requests cannot both spawn.
        const spec = plan(() => planSpawn(key, workspace, body))
        const session = spawnOr503(() => sessions.spawn(spec))
        // A session the manifest does not hold would not come back after a restart: a spawn
        // that cannot be made durable is undone and refused (docs/daemon.md "State on a failing disk").
        try {
          await state.durable()
        } catch (err) {
          if (!(err instanceof StateWriteError)) throw err
          if (sessions.get(key)) await sessions.close(key)
          // Out of descriptors is not a storage problem: it passes when sessions are closed.
          if (err.code === 'EMFILE' || err.code === 'ENFILE')
            spawnOr503(() => {
              throw err
            })
          throw new HttpError(507, 'insufficient_storage', `session ${key} was not started: ${err.message}`)
        }
        sendJson(res, 201, { session: session.info() })
      },
    },
    {
      ...ROUTES.getSession,
      handler(_req, res, { ws, key }) {
        const workspace = requireWorkspace(ws!)
        const session = sessions.get(key!)
        if (!session || session.workspace !== workspace.id) throw noSession(key!, workspace)
        sendJson(res, 200, { session: session.info() })
      },
    },
    {
      ...ROUTES.closeSession,
      async handler(_req, res: ServerResponse, { ws, key }) {
        const workspace = requireWorkspace(ws!)
        const session = sessions.get(key!)
        if (!session || session.workspace !== workspace.id) throw noSession(key!, workspace)
        await sessions.close(key!)
        try {
          await state.durable()
        } catch (err) {
          if (!(err instanceof StateWriteError)) throw err
          throw new HttpError(507, 'insufficient_storage', `session ${key} has ended, but its removal is not saved yet: ${err.message}`)
        }
        sendJson(res, 200, { key: key!, closed: true } satisfies ClosedSession)
      },
    },
  ]
}

/**
 * A new workspace must be an existing directory: a mistyped path would otherwise make a workspace
 * whose shells start somewhere else. Known workspaces are still found by path, even if their
 * directory is gone since, so that they can be opened and removed.
 */
async function requireDirectoryForNew(state: StateStore, path: string): Promise<void> {
  if (!isAbsolute(path)) return // refused with its own message by ensureWorkspace
  if (state.listWorkspaces().some((w) => w.path === resolve(path))) return
  const isDir = await stat(path).then(
    (st) => st.isDirectory(),
    () => false,
  )
  if (!isDir)
    throw new HttpError(
      400,
      'bad_request',
      `there is no directory ${resolve(path)}; check the path (a workspace opens an existing directory)`,
    )
}

async function ensureWorkspace(state: StateStore, body: { path: string; name?: string; id?: string }) {
  try {
    return await state.ensureWorkspace(body)
  } catch (err) {
    if (err instanceof WorkspaceError) {
      throw err.reason === 'invalid' ? new HttpError(400, 'bad_request', err.message) : new HttpError(409, 'conflict', err.message)
    }
    if (err instanceof StateWriteError) throw new HttpError(507, 'insufficient_storage', `the workspace was not created: ${err.message}`)
    throw err
  }
}

function plan<T>(build: () => T): T {
  try {
    return build()
  } catch (err) {
    if (err instanceof LaunchError) throw new HttpError(400, 'bad_request', err.message)
    throw err
  }
}

/**
 * A spawn the system cannot honour for want of file descriptors or processes (EMFILE, ENFILE,
 * EAGAIN; node-pty says "forkpty(3) failed") is a 503 with what to do, not a 500: it passes when
 * sessions are closed or the limit raised (docs/daemon.md "Bounds").
 */
function spawnOr503<T>(spawn: () => T): T {
  try {
    return spawn()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const message = (err as Error).message ?? ''
    if (code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || /forkpty|EMFILE|ENFILE|too many open files/i.test(message)) {
      throw new HttpError(
        503,
        'unavailable',
        `the daemon cannot start a session now: out of file descriptors or processes (${code ?? message}); close some sessions or raise the limit (ulimit -n)`,
      )
    }
    throw err
  }
}

function noSession(key: string, workspace: Workspace): HttpError {
  return new HttpError(404, 'not_found', `no session ${key} in workspace ${workspace.id}`)
}
