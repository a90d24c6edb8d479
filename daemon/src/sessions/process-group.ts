/**
 * Ending a session's processes. node-pty starts each program as the leader of a new session
 * (its pid is the session id) and of a first process group. A shell with job control puts each
 * job in a process group of its own, inside that session: signalling the leader's group alone
 * left `sleep &`, `nohup … &` and disowned jobs running after the tab closed. So closing signals
 * every process group of the session, found through /proc. A process that left the
 * session with `setsid` escapes, as it does from tmux or a closed terminal window
 * (docs/daemon.md "Closing").
 *
 * Where /proc does not exist (macOS), only the leader's process group can be found; jobs of an
 * interactive shell there still get the SIGHUP the kernel sends when the terminal closes.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { CLOSE_GRACE_MS, CLOSE_POLL_MS } from '../defaults.js'

/**
 * SIGHUP (what a closing terminal sends) and SIGCONT (a stopped job would never see the hangup)
 * to every process group of the session `leader` leads, then SIGKILL to whatever is left after
 * the grace. Resolves when none of them is alive.
 */
export async function endSession(leader: number, graceMs = CLOSE_GRACE_MS): Promise<void> {
  // A session with no live member is left alone: its number may already name another.
  if (!sessionAlive(leader)) return
  signalSession(leader, 'SIGHUP')
  signalSession(leader, 'SIGCONT')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    await sleep(CLOSE_POLL_MS)
    if (!sessionAlive(leader)) return
  }
  signalSession(leader, 'SIGKILL')
  // SIGKILL cannot be refused, but its delivery is not instant; callers expect the session gone.
  for (let waited = 0; waited < graceMs && sessionAlive(leader); waited += CLOSE_POLL_MS) await sleep(CLOSE_POLL_MS)
}

/** True while any process of the session (or, without /proc, of the leader's group) is alive. */
export function sessionAlive(leader: number): boolean {
  if (!canListProcesses()) return groupExists(leader)
  return sessionMembers(leader).length > 0
}

/** Live (not zombie) processes of session `sid`, with their process groups (Linux). */
export function sessionMembers(sid: number): { pid: number; pgid: number }[] {
  const members: { pid: number; pgid: number }[] = []
  for (const name of readdirSafe('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const fields = procStatFields(pid)
    if (!fields || Number(fields[3]) !== sid || fields[0] === 'Z' || fields[0] === 'X') continue
    members.push({ pid, pgid: Number(fields[2]) })
  }
  return members
}

function signalSession(leader: number, signal: NodeJS.Signals): void {
  const groups = new Set([leader])
  if (canListProcesses()) for (const member of sessionMembers(leader)) groups.add(member.pgid)
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal)
    } catch {
      /* that group is already gone */
    }
  }
  if (!canListProcesses()) return
  // A member in a group whose leader left the session is signalled on its own.
  for (const member of sessionMembers(leader)) {
    if (groups.has(member.pgid)) continue
    try {
      process.kill(member.pid, signal)
    } catch {
      /* gone */
    }
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * When `pid` started, as a string that differs for a later process given the same pid: on Linux
 * the boot id and the start time in clock ticks from /proc; elsewhere what `ps` prints. Null when
 * no such process runs.
 */
export function processStartTime(pid: number): string | null {
  if (canListProcesses()) {
    const fields = procStatFields(pid)
    // Field 22 of /proc/<pid>/stat, the 20th after the command name.
    return fields && fields[0] !== 'Z' ? `${bootId()}:${fields[19]}` : null
  }
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
    return started || null
  } catch {
    return null
  }
}

/**
 * True when the session `leader` started (at `started`, see processStartTime) still has live
 * processes: the leader itself, recognised by its start time; or, once the leader is gone (a
 * shell hung up when the daemon died), members of its session that started after it, as its
 * jobs did (Linux). A pid that now names a later process is someone else's and is left alone.
 */
export function sessionSurvives(leader: number, started: string): boolean {
  const now = processStartTime(leader)
  if (now !== null) return now === started
  if (!canListProcesses()) return false
  const [boot, ticks] = [started.slice(0, started.lastIndexOf(':')), Number(started.slice(started.lastIndexOf(':') + 1))]
  if (boot !== bootId() || !Number.isFinite(ticks)) return false
  return sessionMembers(leader).some((member) => Number(procStatFields(member.pid)?.[19] ?? -1) >= ticks)
}

let procAvailable: boolean | undefined
function canListProcesses(): boolean {
  return (procAvailable ??= procStatFields(process.pid) !== null)
}

let cachedBootId: string | undefined
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    } catch {
      cachedBootId = ''
    }
  }
  return cachedBootId
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, session, ...]. */
function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
