/**
 * The daemon's persistent state (docs/daemon.md, "Files under the home"), as `tabula
 * import-layouts` also uses it.
 */
import type { Workspace } from '@tabula/protocol'

/** One v1 `workspace_layouts` row (docs/sync.md, "Migration from the v1 layout JSON"). */
export interface LegacyLayoutRow {
  project_id: string
  workspace_id: string | null
  layout_json: string
  path?: string | null
}

export interface DaemonState {
  getWorkspace(id: string): Workspace | undefined
  listWorkspaces(): Workspace[]
  /** Find-or-create by path; an `id` adopts a known uuid. */
  ensureWorkspace(ws: { path: string; name?: string; id?: string }): Promise<{ workspace: Workspace; created: boolean }>
  listLegacyLayouts(): LegacyLayoutRow[]
  /** Stores rows; a row equal to one already stored is not added twice. */
  addLegacyLayouts(rows: LegacyLayoutRow[]): Promise<void>
  hasMigration(id: string): boolean
  recordMigration(id: string): Promise<void>
}
