/**
 * From "what was asked" to a SpawnSpec the map can run: defaults filled in, cwd and command
 * checked. Shared by the HTTP route and by restore, so both start sessions the same way.
 */
import { DEFAULT_COLS, DEFAULT_ROWS, type SpawnRequest, type Workspace } from '@tabula/protocol'
import { checkCwd, checkExecutable, defaultCommand, defaultCwd, LaunchError, resolveCommand } from './launch.js'
import type { SpawnSpec } from './map.js'

/**
 * `resolved`: the executable an earlier run resolved the command to (restore runs that one, if it
 * still is an executable file, rather than resolving the command again on today's PATH).
 */
export function planSpawn(
  key: string,
  workspace: Workspace,
  request: Omit<SpawnRequest, 'key'>,
  title?: string | null,
  resolved?: string,
): SpawnSpec {
  checkStrings(request)
  const cwd = request.cwd === undefined ? defaultCwd(workspace.path) : checkCwd(request.cwd)
  const command = request.command ?? defaultCommand()
  const path = request.env?.PATH ?? process.env.PATH
  return {
    key,
    workspace: workspace.id,
    command,
    file: resolved === undefined ? resolveCommand(command, cwd, path) : checkExecutable(resolved),
    args: request.args ?? [],
    cwd,
    env: request.env,
    cols: request.cols ?? DEFAULT_COLS,
    rows: request.rows ?? DEFAULT_ROWS,
    closeOnExit: request.closeOnExit,
    title,
  }
}

/** What exec cannot carry: NUL bytes anywhere, and environment names that are empty or hold "=". */
function checkStrings(request: Omit<SpawnRequest, 'key'>): void {
  const strings = [request.command, request.cwd, ...(request.args ?? []), ...Object.entries(request.env ?? {}).flat()]
  if (strings.some((value) => value?.includes('\0'))) throw new LaunchError('command, args, cwd and env must not contain NUL characters')
  for (const name of Object.keys(request.env ?? {})) {
    if (!name || name.includes('=')) throw new LaunchError(`"${name}" is not a valid environment variable name`)
  }
}
