import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { Option } from 'commander'
import { openState, type LegacyLayoutRow } from '@tabula/daemon'
import { createSyncServer } from '@tabula/sync-server'
import { createLogger, readLiveRuntimeInfo, resolveHome } from '@tabula/server-kit'
import { LAYOUT_MIGRATION_ID, migrateRows } from '../migration.js'

/**
 * `tabula import-layouts FILE`: v1 `workspace_layouts` rows (as `sqlite3 -json` prints them)
 * into the state, then the conversion (docs/sync.md, "Migration from the v1 layout JSON").
 *
 * It works on the files under the home directly, so it refuses while a tabula runs on that home:
 * the running process holds the same state and documents in memory and would write over them.
 */
export function registerImportLayouts(program: Command): void {
  program
    .command('import-layouts')
    .description('import v1 workspace_layouts rows (a JSON array) and convert them to layout documents')
    .argument('<file>', 'JSON array of {project_id, workspace_id, layout_json, path?}')
    .addOption(new Option('--home <dir>', 'state directory (default: $TABULA_HOME, else ~/.tabula)'))
    .action(async (file: string, flags: { home?: string }) => {
      const home = resolveHome(flags.home)
      refuseWhileRunning(home)
      const { rows, problems } = parseRows(await readRowsFile(file))
      for (const problem of problems) process.stderr.write(`tabula import-layouts: ${problem}\n`)

      const log = createLogger('tabula-import', process.env.TABULA_LOG_LEVEL ?? 'warn')
      const state = await openState(home, log)
      const sync = await createSyncServer({ home, log })
      let failed = 0
      let skipped = problems.length
      try {
        const result = await migrateRows(rows, state, sync)
        for (const line of result.lines) process.stdout.write(line + '\n')
        // A skipped row is not kept either: stored, it would look imported, and the boot pass
        // would only reject it again.
        await state.addLegacyLayouts(result.accepted)
        failed = result.failed
        skipped += result.rejected
        if (failed === 0 && !state.hasMigration(LAYOUT_MIGRATION_ID)) await state.recordMigration(LAYOUT_MIGRATION_ID)
      } finally {
        await sync.close()
        await state.flush()
      }
      if (skipped > 0) process.stderr.write(`tabula import-layouts: ${skipped} row(s) skipped (see above); the others were imported\n`)
      // Any row left out is a failure for scripts: a person must look at it.
      if (failed > 0 || skipped > 0) process.exitCode = 1
    })
}

function refuseWhileRunning(home: string): void {
  const running = readLiveRuntimeInfo(home)
  if (!running || running.pid === process.pid) return
  const where = running.url ?? running.syncUrl ?? running.daemonUrl ?? 'unknown address'
  throw new Error(
    `tabula is running under ${home} (pid ${running.pid}, ${where}). Stop it first: it keeps the same ` +
      'state and layout documents in memory and would write over what this command imports.',
  )
}

async function readRowsFile(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`)
  }
}

/** Keeps the well-formed rows; says what is wrong with the others (by position in the file). */
export function parseRows(value: unknown): { rows: LegacyLayoutRow[]; problems: string[] } {
  if (!Array.isArray(value)) throw new Error('expected a JSON array of workspace_layouts rows (sqlite3 -json prints one)')
  const rows: LegacyLayoutRow[] = []
  const problems: string[] = []
  for (const [i, row] of (value as unknown[]).entries()) {
    const r = row as Record<string, unknown> | null
    if (typeof r !== 'object' || r === null) {
      problems.push(`row ${i}: not an object`)
      continue
    }
    if (typeof r.project_id !== 'string') {
      problems.push(`row ${i}: project_id must be a string`)
      continue
    }
    if (r.workspace_id !== undefined && r.workspace_id !== null && typeof r.workspace_id !== 'string') {
      problems.push(`row ${i}: workspace_id must be a string or null`)
      continue
    }
    if (typeof r.layout_json !== 'string') {
      problems.push(`row ${i}: layout_json must be a string`)
      continue
    }
    if (r.path !== undefined && r.path !== null && typeof r.path !== 'string') {
      problems.push(`row ${i}: path must be a string`)
      continue
    }
    rows.push({
      project_id: r.project_id,
      workspace_id: (r.workspace_id as string | null | undefined) ?? null,
      layout_json: r.layout_json,
      ...(typeof r.path === 'string' ? { path: r.path } : {}),
    })
  }
  return { rows, problems }
}
