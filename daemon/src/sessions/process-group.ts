/**
 * Ending a session's processes. node-pty starts each program as the leader of a new session and
 * process group, so signalling the group reaches the children and grandchildren it started
 * (SPEC §5: close "ends the process group").
 */
import { readdirSync, readFileSync } from 'node:fs'
import { CLOSE_GRACE_MS, CLOSE_POLL_MS } from '../defaults.js'

/** SIGHUP to the group (what a closing terminal sends), then SIGKILL to whatever is left. */
export async function endProcessGroup(leader: number, graceMs = CLOSE_GRACE_MS): Promise<void> {
  // A group whose members are all gone is left alone: its number may already name another.
  if (!groupAlive(leader) || !signalGroup(leader, 'SIGHUP')) return
  // A program stopped by job control would never see the hangup; wake it.
  signalGroup(leader, 'SIGCONT')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    await sleep(CLOSE_POLL_MS)
    if (!groupAlive(leader)) return
  }
  signalGroup(leader, 'SIGKILL')
  // SIGKILL cannot be refused, but its delivery is not instant; callers expect the group gone.
  for (let waited = 0; waited < graceMs && groupAlive(leader); waited += CLOSE_POLL_MS) await sleep(CLOSE_POLL_MS)
}

/** True while any process of the group is alive (zombies waiting to be reaped do not count). */
export function groupAlive(leader: number): boolean {
  try {
    process.kill(-leader, 0)
  } catch {
    return false
  }
  // kill(0) also succeeds for zombies; where /proc exists, look closer so a dead group is seen as dead.
  if (!canListProcesses()) return true
  return hasLiveMember(leader)
}

function signalGroup(leader: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-leader, signal)
    return true
  } catch {
    return false
  }
}

/** One pass over /proc: true when some process of the group is neither a zombie nor dead. */
function hasLiveMember(pgid: number): boolean {
  for (const name of readdirSafe('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const fields = procStatFields(pid)
    if (fields && Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true
  }
  return false
}

let procAvailable: boolean | undefined
function canListProcesses(): boolean {
  return (procAvailable ??= procStatFields(process.pid) !== null)
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
