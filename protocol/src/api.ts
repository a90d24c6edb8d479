/**
 * The daemon's HTTP contract (docs/daemon.md, "HTTP API"): shapes of what the routes return, shared
 * by the daemon that serves them and every client that reads them.
 */
import type { z } from 'zod'
import type { SessionKind } from './keys.js'
import type { createWorkspaceRequestSchema, spawnRequestSchema } from './validate.js'

export type SessionStatus = 'running' | 'exited'

export interface Session {
  key: string
  workspace: string
  kind: SessionKind
  command: string
  args: string[]
  cwd: string
  pid: number
  status: SessionStatus
  exitCode: number | null
  /** The program's own title (OSC 0/2), or null until it sets one. */
  title: string | null
  cols: number
  rows: number
  /** ISO 8601. */
  createdAt: string
  /** The live-channel viewer id that drives the size, or null when nobody does (I5, docs/architecture.md "Invariants"). */
  activeViewer: string | null
}

export interface Workspace {
  id: string
  path: string
  name: string
}

export interface SessionList {
  seq: number
  sessions: Session[]
}

/** `POST /v1/workspaces/:ws/sessions`, inferred from the schema the daemon validates with. */
export type SpawnRequest = z.infer<typeof spawnRequestSchema>

/** `POST /v1/workspaces`, inferred from the schema the daemon validates with. */
export type CreateWorkspaceRequest = z.infer<typeof createWorkspaceRequestSchema>

/** `DELETE /v1/workspaces/:ws`. */
export interface RemovedWorkspace {
  id: string
  removed: true
}

/** `DELETE /v1/workspaces/:ws/sessions/:key`, once every process of the session is gone. */
export interface ClosedSession {
  key: string
  closed: true
}

export interface Health {
  ok: true
  version: string
}

/** Every 4xx/5xx body, HTTP and (as `error` frames) the live channel alike. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'invalid_key'
  | 'unauthorized'
  | 'forbidden'
  | 'forbidden_origin'
  | 'not_found'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'conflict'
  | 'internal'
  | 'unknown_frame'
  | 'invalid_frame'
  | 'frame_too_large'
  | 'not_active'
  | 'insufficient_storage'
  | 'unavailable'
  | 'limit_reached'
  | 'input_queue_full'
  | 'request_timeout'
