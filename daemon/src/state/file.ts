/**
 * The shape of `<home>/state.json` and how it is read. A file that is not what tabula wrote is
 * refused, never replaced: losing someone's workspaces to a stray edit would be worse than not
 * starting.
 */
import { z } from 'zod'

const workspaceRow = z.object({ id: z.string(), path: z.string(), name: z.string() })

const manifestRow = z.object({
  key: z.string(),
  workspace: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  cwd: z.string(),
  title: z.string().nullable().default(null),
  exited: z.boolean().default(false),
  // A session spawned to go away when its program ends must not come back as a tab that stays.
  closeOnExit: z.boolean().default(false),
  // The executable `command` resolved to, so a restart runs the same program whatever its PATH.
  file: z.string().nullable().default(null),
  // The running program (pid and start time), so a daemon starting after a crash can end it
  // rather than run a second copy (docs/daemon.md "Restore").
  pid: z.number().int().nullable().default(null),
  started: z.string().nullable().default(null),
})

const legacyLayoutRow = z.object({
  project_id: z.string(),
  workspace_id: z.string().nullable(),
  layout_json: z.string(),
  path: z.string().nullable().optional(),
})

const migrationRow = z.object({ id: z.string(), at: z.string() })

// The top level is loose, so collections a newer tabula added survive an older one rewriting the file.
const stateSchema = z.looseObject({
  version: z.literal(1).default(1),
  workspaces: z.array(workspaceRow).default([]),
  sessions: z.array(manifestRow).default([]),
  workspace_layouts: z.array(legacyLayoutRow).default([]),
  code_migrations: z.array(migrationRow).default([]),
})

export type StateData = z.infer<typeof stateSchema>
/** One session the daemon should bring back after a restart: a row of the manifest (docs/daemon.md, "Files under the home"). */
export type ManifestEntry = z.infer<typeof manifestRow>

export function emptyState(): StateData {
  return stateSchema.parse({})
}

/** Raised when the state file exists but cannot be used; the message names the file. */
export class StateFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} ${reason}. tabula left the file untouched: repair it or move it away, then start again.`)
    this.name = 'StateFileError'
  }
}

/** Parses the file's text; throws StateFileError for anything that is not a tabula state. */
export function parseStateText(path: string, text: string): StateData {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new StateFileError(path, `is not valid JSON (${(err as Error).message})`)
  }
  const parsed = stateSchema.safeParse(json)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const where = first?.path.length ? ` at ${first.path.join('.')}` : ''
    throw new StateFileError(path, `is not a tabula state file (${first?.message ?? 'unexpected shape'}${where})`)
  }
  return parsed.data
}
