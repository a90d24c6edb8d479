/**
 * The one-shot migration of v1 layout rows into layout documents (docs/sync.md, "Migration from the
 * v1 layout JSON").
 *
 * Safe to run any number of times: a workspace's document is seeded only when it has never been
 * written (the sync server checks and writes in one step, then saves before answering), so a
 * second run can neither duplicate tabs nor overwrite edits made since. The `layout-v2` row in
 * code_migrations only stops the boot pass from looking again.
 */
import { convertV1Layout, isUuid } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import type { DaemonState, LegacyLayoutRow } from '@tabula/daemon'
import type { SyncServer } from '@tabula/sync-server'

export const LAYOUT_MIGRATION_ID = 'layout-v2'

export type MigrationState = Pick<
  DaemonState,
  'getWorkspace' | 'ensureWorkspace' | 'hasMigration' | 'recordMigration' | 'listLegacyLayouts'
>
export type LayoutSeeder = Pick<SyncServer, 'seedIfEmpty'>

export interface MigrationResult {
  /** One line per row: `<workspace>: N -> M tabs`, or why the row was left alone. */
  lines: string[]
  seeded: number
  /** Rows that could not be converted, ever (malformed): reported, not retried. */
  rejected: number
  /** Rows that failed for a reason that may pass (a write failed): the migration is not recorded. */
  failed: number
  /** The rows that were not rejected: the only ones worth keeping as legacy rows. */
  accepted: LegacyLayoutRow[]
}

/** The workspace a row belongs to: `workspace_id`, else the project's id (v1 rows of a project's main workspace). */
export function workspaceOfRow(row: LegacyLayoutRow): string {
  return row.workspace_id ?? row.project_id
}

/** Converts and seeds each row, in order. Never throws for one row's problem; says what happened per row. */
export async function migrateRows(rows: LegacyLayoutRow[], state: MigrationState, sync: LayoutSeeder): Promise<MigrationResult> {
  const result: MigrationResult = { lines: [], seeded: 0, rejected: 0, failed: 0, accepted: [] }
  for (const row of rows) {
    const workspace = workspaceOfRow(row)
    if (typeof workspace !== 'string' || !isUuid(workspace)) {
      result.rejected++
      result.lines.push(`${String(workspace)}: not a workspace id (a lowercase uuid); row skipped`)
      continue
    }
    let conversion: ReturnType<typeof convertV1Layout>
    try {
      conversion = convertV1Layout(row.layout_json)
    } catch (err) {
      result.rejected++
      result.lines.push(`${workspace}: ${(err as Error).message}; row skipped`)
      continue
    }
    try {
      if (!state.getWorkspace(workspace)) {
        if (!row.path) {
          result.rejected++
          result.lines.push(`${workspace}: no such workspace and the row has no path to create it with; row skipped`)
          continue
        }
        await state.ensureWorkspace({ id: workspace, path: row.path })
      }
      result.accepted.push(row)
      const seeded = await sync.seedIfEmpty(workspace, conversion)
      if (seeded) {
        result.seeded++
        result.lines.push(`${workspace}: ${conversion.before} -> ${conversion.after} tabs`)
        for (const reason of conversion.skipped ?? []) result.lines.push(`${workspace}: ${reason} (left out)`)
      } else {
        result.lines.push(`${workspace}: its layout document already exists; not seeded again`)
      }
    } catch (err) {
      result.failed++
      result.lines.push(`${workspace}: ${(err as Error).message}`)
    }
  }
  return result
}

/**
 * The boot pass (`tabula up` calls it once the daemon state and the sync store are open):
 * converts the legacy rows already in the state, once. Recorded as `layout-v2` unless a row
 * failed for a reason that may pass, so the next boot tries again (which is safe, see above).
 */
export async function runBootMigration(opts: { daemon: { state: MigrationState }; sync: LayoutSeeder; log: Logger }): Promise<void> {
  const { state } = opts.daemon
  if (state.hasMigration(LAYOUT_MIGRATION_ID)) return
  const rows = state.listLegacyLayouts()
  const result = await migrateRows(rows, state, opts.sync)
  for (const line of result.lines) opts.log.info(line)
  if (result.failed > 0) {
    opts.log.warn(`${LAYOUT_MIGRATION_ID}: ${result.failed} row(s) failed; the migration runs again at the next start`)
    return
  }
  await state.recordMigration(LAYOUT_MIGRATION_ID)
  if (rows.length > 0) opts.log.info(`${LAYOUT_MIGRATION_ID}: ${result.seeded} of ${rows.length} legacy layout row(s) seeded`)
}
