/**
 * The daemon's persistent state on lowdb: workspaces, the session manifest, legacy layout rows
 * and one-shot migrations. Every mutation changes memory at once (so concurrent requests see
 * each other) and then writes the whole file atomically; lowdb's writer coalesces bursts.
 */
import { randomUUID } from 'node:crypto'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import { isUuid, type Workspace } from '@tabula/protocol'
import { writeFileDurable, type Logger } from '@tabula/server-kit'
import { STATE_FILE } from '../defaults.js'
import { emptyState, parseStateText, type ManifestEntry, type StateData } from './file.js'
import type { DaemonState, LegacyLayoutRow } from './types.js'
import { durableWriter } from './durable.js'

/** A workspace request the state cannot honour: `invalid` input, or a `conflict` with what exists. */
export class WorkspaceError extends Error {
  constructor(
    readonly reason: 'invalid' | 'conflict',
    message: string,
  ) {
    super(message)
    this.name = 'WorkspaceError'
  }
}

export interface StateStore extends DaemonState {
  readonly path: string
  manifest(): ManifestEntry[]
  putManifestEntry(entry: ManifestEntry): void
  patchManifestEntry(key: string, patch: Partial<Pick<ManifestEntry, 'title' | 'exited'>>): void
  removeManifestEntry(key: string): void
  /** Forgets a workspace (the caller checked it has no sessions); false when it was not known. */
  removeWorkspace(id: string): Promise<boolean>
  /**
   * Resolves once everything changed so far is on disk; rejects with StateWriteError when a
   * write of it failed (the writes go on being retried): a request then answers 507.
   */
  durable(): Promise<void>
  /** Shutdown: writes what is unwritten (retrying a little); rejects if it could not. */
  flush(): Promise<void>
}

/** Opens (or starts) `<home>/state.json`; throws StateFileError when the file is unusable. */
export async function openState(home: string, log: Logger): Promise<StateStore> {
  const path = join(home, STATE_FILE)
  const db = new Low<StateData>(
    new DataFile<StateData>(path, { parse: (text) => parseStateText(path, text), stringify: stringifyState }),
    emptyState(),
  )
  await db.read()
  const data = db.data

  const writer = durableWriter(
    path,
    // Temporary file (0600: state files are the owner's alone), fsync, rename; lowdb only reads.
    () => writeFileDurable(path, stringifyState(db.data)),
    (err, retryInMs) => log.error({ err: err.cause, path, retryInMs }, `could not write the state file; retrying in ${retryInMs} ms`),
  )
  /** Records a change; the promise is for requests that must be durable before they answer. */
  function save(): Promise<void> {
    writer.changed()
    return writer.durable()
  }

  const store: StateStore = {
    path,
    getWorkspace: (id) => copy(data.workspaces.find((w) => w.id === id)),
    listWorkspaces: () => data.workspaces.map((w) => copy(w)!),

    async ensureWorkspace(request) {
      const found = findOrPlanWorkspace(data.workspaces, request)
      if (!found.created) return { workspace: copy(found.workspace)!, created: false }
      data.workspaces.push(found.workspace)
      try {
        await save()
      } catch (err) {
        // Not on disk means not created: a caller told "failed" must not find it later.
        data.workspaces.splice(data.workspaces.indexOf(found.workspace), 1)
        writer.changed()
        throw err
      }
      return { workspace: copy(found.workspace)!, created: true }
    },

    async removeWorkspace(id) {
      const at = data.workspaces.findIndex((w) => w.id === id)
      if (at < 0) return false
      // Gone from memory at once, so that no spawn can land in it while the file is written.
      const [removed] = data.workspaces.splice(at, 1)
      try {
        await save()
      } catch (err) {
        data.workspaces.splice(at, 0, removed!)
        writer.changed()
        throw err
      }
      return true
    },

    listLegacyLayouts: () => data.workspace_layouts.map((row) => ({ ...row })),
    async addLegacyLayouts(rows) {
      let added = 0
      for (const row of rows) {
        const normalized = normalizeLegacyRow(row)
        if (data.workspace_layouts.some((stored) => sameLegacyRow(stored, normalized))) continue
        data.workspace_layouts.push(normalized)
        added++
      }
      if (added) await save()
    },

    hasMigration: (id) => data.code_migrations.some((m) => m.id === id),
    async recordMigration(id) {
      if (store.hasMigration(id)) return
      data.code_migrations.push({ id, at: new Date().toISOString() })
      await save()
    },

    manifest: () => data.sessions.map((entry) => ({ ...entry, args: [...entry.args] })),
    putManifestEntry(entry) {
      const index = data.sessions.findIndex((e) => e.key === entry.key)
      if (index === -1) data.sessions.push({ ...entry })
      else data.sessions[index] = { ...entry }
      writer.changed()
    },
    patchManifestEntry(key, patch) {
      const entry = data.sessions.find((e) => e.key === key)
      // A patch that changes nothing (a resize, a driver change) writes nothing.
      if (!entry || Object.entries(patch).every(([field, value]) => entry[field as keyof ManifestEntry] === value)) return
      Object.assign(entry, patch)
      writer.changed()
    },
    removeManifestEntry(key) {
      const index = data.sessions.findIndex((e) => e.key === key)
      if (index === -1) return
      data.sessions.splice(index, 1)
      writer.changed()
    },

    durable: () => writer.durable(),
    flush: () => writer.flush(),
  }
  return store
}

function stringifyState(data: StateData): string {
  return JSON.stringify(data, null, 2) + '\n'
}

function findOrPlanWorkspace(
  existing: Workspace[],
  request: { path: string; name?: string; id?: string },
): { workspace: Workspace; created: boolean } {
  if (!isAbsolute(request.path)) {
    throw new WorkspaceError('invalid', `a workspace path must be absolute, got "${request.path}"`)
  }
  if (request.id !== undefined && !isUuid(request.id)) {
    throw new WorkspaceError('invalid', `a workspace id must be a lowercase uuid, got "${request.id}"`)
  }
  const path = resolve(request.path)
  const byPath = existing.find((w) => w.path === path)
  const byId = request.id === undefined ? undefined : existing.find((w) => w.id === request.id)
  if (byId && byId.path !== path) {
    throw new WorkspaceError('conflict', `workspace ${byId.id} already exists at ${byId.path}, not at ${path}`)
  }
  if (byPath && request.id !== undefined && byPath.id !== request.id) {
    throw new WorkspaceError('conflict', `${path} is already workspace ${byPath.id}, not ${request.id}`)
  }
  if (byPath) return { workspace: byPath, created: false }
  const name = request.name ?? (basename(path) || path)
  return { workspace: { id: request.id ?? randomUUID(), path, name }, created: true }
}

function normalizeLegacyRow(row: LegacyLayoutRow): LegacyLayoutRow {
  return { project_id: row.project_id, workspace_id: row.workspace_id ?? null, layout_json: row.layout_json, path: row.path ?? null }
}

function sameLegacyRow(a: LegacyLayoutRow, b: LegacyLayoutRow): boolean {
  return (
    a.project_id === b.project_id &&
    (a.workspace_id ?? null) === (b.workspace_id ?? null) &&
    a.layout_json === b.layout_json &&
    (a.path ?? null) === (b.path ?? null)
  )
}

function copy(workspace: Workspace | undefined): Workspace | undefined {
  return workspace && { id: workspace.id, path: workspace.path, name: workspace.name }
}
