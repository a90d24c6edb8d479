/**
 * Turns a spawn request into something a PTY can run: a directory that exists and a program
 * that resolves. Problems come back as sentences a person can act on, before any process starts.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

/** Why a spawn cannot start; the HTTP layer answers 400 with this message. */
export class LaunchError extends Error {
  override name = 'LaunchError'
}

/** The program a session runs when the request names none: the user's shell. */
export function defaultCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHELL || '/bin/sh'
}

/** The directory a session starts in when the request names none. */
export function defaultCwd(workspacePath: string): string {
  return isDirectory(workspacePath) ? workspacePath : homedir()
}

/** Checks that `cwd` is an existing directory; returns it made absolute. */
export function checkCwd(cwd: string): string {
  if (!isAbsolute(cwd)) throw new LaunchError(`cwd must be an absolute path, got "${cwd}"`)
  let stats: ReturnType<typeof statSync>
  try {
    stats = statSync(cwd)
  } catch {
    throw new LaunchError(`cwd ${cwd} does not exist`)
  }
  if (!stats.isDirectory()) throw new LaunchError(`cwd ${cwd} is not a directory`)
  return resolve(cwd)
}

/**
 * The executable `command` names: a path (absolute, or relative to `cwd`) or a name looked up on
 * PATH, like a shell would.
 */
export function resolveCommand(command: string, cwd: string, path: string | undefined): string {
  if (command.includes('/')) {
    const file = resolve(cwd, command)
    if (!isExecutableFile(file)) throw new LaunchError(`command ${command} is not an executable file`)
    return file
  }
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue
    const file = join(dir, command)
    if (isExecutableFile(file)) return file
  }
  throw new LaunchError(`command "${command}" was not found on PATH`)
}

/** Checks that `file` (absolute) still is an executable file; returns it. */
export function checkExecutable(file: string): string {
  if (!isAbsolute(file) || !isExecutableFile(file)) throw new LaunchError(`its program ${file} is no longer an executable file`)
  return file
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}
