/**
 * Containment: a session's program must hold no descriptor of the daemon's but its own terminal
 * (SPEC §5). Node and libuv open everything close-on-exec, but node-pty (1.0 on Linux) forks
 * with `forkpty` and leaves its masters inheritable, and a daemon may itself have inherited
 * descriptors from whatever started it; so a third tab's shell held the masters of the first two.
 * (On macOS node-pty starts programs with posix_spawn and POSIX_SPAWN_CLOEXEC_DEFAULT, which
 * already closes every other descriptor.)
 *
 * On Linux the daemon lists, just before each spawn, its descriptors above stderr that lack
 * close-on-exec (/proc/self/fdinfo reports the flag), and starts the program through a shell that
 * closes exactly those and then execs it: same pid, same session and terminal, nothing inherited.
 * The list is exact because nothing else in the daemon creates inheritable descriptors, and
 * nothing runs between the listing and node-pty's fork (both happen in one synchronous call).
 * See docs/daemon.md "The PTY layer".
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'

/** O_CLOEXEC as /proc/<pid>/fdinfo reports it in `flags` (octal). */
const FDINFO_CLOEXEC = 0o2000000

/** Shells that can close any descriptor number (bash); POSIX sh (dash) only names 0–9. */
const FULL_SHELLS = ['/bin/bash', '/usr/bin/bash']
const POSIX_SHELL = '/bin/sh'

export interface Launch {
  file: string
  args: string[]
  /** False only when descriptors above 9 must be closed and no bash is installed. */
  contained: boolean
}

/** The command that starts `file` with nothing of the daemon's but its terminal. */
export function containedLaunch(file: string, args: string[], fds: number[] = inheritableFds()): Launch {
  if (fds.length === 0) return { file, args, contained: true }
  const shell = fds.every((fd) => fd <= 9) ? POSIX_SHELL : fullShell()
  if (!shell) return { file, args, contained: false }
  // `$0` and `$@` carry the program and its arguments untouched: no quoting of user input.
  const script = `exec ${fds.map((fd) => `${fd}>&-`).join(' ')}; exec "$0" "$@"`
  return { file: shell, args: ['-c', script, file, ...args], contained: true }
}

/** This process's descriptors above stderr that a child would inherit (Linux; [] elsewhere). */
export function inheritableFds(): number[] {
  let names: string[]
  try {
    names = readdirSync('/proc/self/fdinfo')
  } catch {
    return []
  }
  const fds: number[] = []
  for (const name of names) {
    const fd = Number(name)
    if (!(fd > 2)) continue
    let info: string
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
    } catch {
      continue // the descriptor readdir itself used, closed since
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info)
    if (flags && (parseInt(flags[1]!, 8) & FDINFO_CLOEXEC) === 0) fds.push(fd)
  }
  return fds.sort((a, b) => a - b)
}

let foundShell: string | null | undefined
function fullShell(): string | null {
  if (foundShell !== undefined) return foundShell
  foundShell = null
  for (const shell of FULL_SHELLS) {
    try {
      accessSync(shell, constants.X_OK)
      foundShell = shell
      break
    } catch {
      /* try the next */
    }
  }
  return foundShell
}
