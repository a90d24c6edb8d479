/**
 * Containment: a session's program must hold no descriptor of the daemon's but its own terminal
 * (docs/daemon.md, "The PTY layer"). Node and libuv open everything close-on-exec, but node-pty
 * (1.0 on Linux) forks with `forkpty` and leaves its masters inheritable, and a daemon may itself
 * have inherited descriptors from whatever started it; so a third tab's shell held the masters of
 * the first two. (On macOS node-pty starts programs with posix_spawn and
 * POSIX_SPAWN_CLOEXEC_DEFAULT, which already closes every other descriptor.)
 *
 * On Linux the daemon lists, just before each spawn, its descriptors above stderr that lack
 * close-on-exec (/proc/self/fdinfo reports the flag), and starts the program through a tiny
 * launcher that closes exactly those and then execs it: same pid, same session and terminal,
 * same environment, nothing inherited. The launcher is perl (part of every Debian and Ubuntu
 * install: perl-base is essential) or, when every descriptor is 0–9, POSIX sh. Not bash: bash
 * rewrites the environment it passes on (drops PS1 and PS2, sets PS4, SHLVL and PWD).
 * The list is exact because nothing else in the daemon creates inheritable descriptors, and
 * nothing runs between the listing and node-pty's fork (both happen in one synchronous call).
 * See docs/daemon.md "The PTY layer".
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs'

/** O_CLOEXEC as /proc/<pid>/fdinfo reports it in `flags` (octal). */
const FDINFO_CLOEXEC = 0o2000000

/** Launchers that can close any descriptor number; POSIX sh (dash) can only name 0–9. */
const PERLS = ['/usr/bin/perl', '/bin/perl']
const POSIX_SHELL = '/bin/sh'

/**
 * Closes the descriptors listed in its first argument, then execs the rest with its own argv[0].
 * An fd is closed by adopting it into a handle (fdopen) and closing that, which needs no module:
 * the mode is tried read-write, then read, then write, to match how the fd was opened.
 */
const PERL_LAUNCHER =
  'for my $fd (split /,/, shift) { for my $m ("+<&=", "<&=", ">&=") { if (open(my $f, $m, $fd)) { close $f; last } } } ' +
  'exec { $ARGV[0] } @ARGV or exit 127'

export interface Launch {
  file: string
  args: string[]
  /** False only when descriptors above 9 must be closed and no perl is installed. */
  contained: boolean
}

/** The command that starts `file` with nothing of the daemon's but its terminal. */
export function containedLaunch(file: string, args: string[], fds: number[] = inheritableFds()): Launch {
  if (fds.length === 0) return { file, args, contained: true }
  // The program and its arguments travel as arguments, untouched: no quoting of user input.
  const perl = findPerl()
  if (perl) return { file: perl, args: ['-e', PERL_LAUNCHER, fds.join(','), file, ...args], contained: true }
  if (fds.every((fd) => fd <= 9)) {
    const script = `exec ${fds.map((fd) => `${fd}>&-`).join(' ')}; exec "$0" "$@"`
    return { file: POSIX_SHELL, args: ['-c', script, file, ...args], contained: true }
  }
  return { file, args, contained: false }
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

let foundPerl: string | null | undefined
function findPerl(): string | null {
  if (foundPerl !== undefined) return foundPerl
  foundPerl = null
  for (const perl of PERLS) {
    try {
      accessSync(perl, constants.X_OK)
      foundPerl = perl
      break
    } catch {
      /* try the next */
    }
  }
  return foundPerl
}
