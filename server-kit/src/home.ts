import { mkdirSync, readFileSync, chmodSync, statSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeFileDurableSync } from './durable-write.js'
import { liveLockOwner } from './lock.js'

/** `--home`, else `$TABULA_HOME`, else `~/.tabula` (docs/architecture.md, "Defaults"), without creating it. */
export function homePath(flag?: string): string {
  return resolve(flag || process.env.TABULA_HOME || join(homedir(), '.tabula'))
}

/** The home of a serving command: as homePath, created 0700 when missing. */
export function resolveHome(flag?: string): string {
  const home = homePath(flag)
  mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}

const TOKEN_FILE = 'token'
/** 256 bits: twice the 128-bit minimum (docs/architecture.md, "Defaults"), and the cost is nil. */
const TOKEN_BYTES = 32

/**
 * The shared secret under the home. Created on first start with mode 0600; an existing file
 * with looser permissions is tightened rather than trusted as it is.
 */
/** The token as stored, or undefined when the file is missing, unreadable or empty. Never creates it. */
export function readToken(home: string): string | undefined {
  try {
    return readFileSync(join(home, TOKEN_FILE), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

export function loadOrCreateToken(home: string): string {
  const path = join(home, TOKEN_FILE)
  try {
    const token = readFileSync(path, 'utf8').trim()
    if (token.length >= 32) {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
      return token
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(TOKEN_BYTES).toString('hex')
  writeFileDurableSync(path, token + '\n')
  return token
}

export interface RuntimeInfo {
  pid: number
  /** Where everything is, when one process runs every component (`tabula up`). */
  url?: string
  daemonUrl?: string
  syncUrl?: string
  /** Every address a person can open (`tabula up`'s), for `tabula pair` to build its link from. */
  urls?: string[]
}

const RUNTIME_FILE = 'runtime.json'

/**
 * Components that run apart (`tabula daemon`, `tabula sync`) share one home, so each merges its
 * own field into the file rather than replacing what the other wrote.
 */
export function writeRuntimeInfo(home: string, info: RuntimeInfo): void {
  const current = readRuntimeInfo(home)
  const merged: RuntimeInfo =
    current && isProcessAlive(current.pid) && current.pid !== info.pid && !info.url ? { ...current, ...info } : info
  writeFileDurableSync(join(home, RUNTIME_FILE), JSON.stringify(merged, null, 2) + '\n')
}

export function readRuntimeInfo(home: string): RuntimeInfo | null {
  try {
    return JSON.parse(readFileSync(join(home, RUNTIME_FILE), 'utf8')) as RuntimeInfo
  } catch {
    return null
  }
}

/** Removes runtime.json on shutdown, unless another live process owns it by now. */
export function clearRuntimeInfo(home: string, pid = process.pid): void {
  const current = readRuntimeInfo(home)
  if (current && current.pid === pid) rmSync(join(home, RUNTIME_FILE), { force: true })
}

/** True when a process with this pid exists (signal 0 probes without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * runtime.json, but only when the process that wrote it is still alive (a crash leaves a stale
 * file): it must hold a lock of the home (lock.ts), which also tells a reused pid from the owner.
 */
export function readLiveRuntimeInfo(home: string): RuntimeInfo | null {
  const info = readRuntimeInfo(home)
  if (!info || !isProcessAlive(info.pid)) return null
  const owners = [liveLockOwner(home, 'daemon'), liveLockOwner(home, 'sync')]
  return owners.some((owner) => owner?.pid === info.pid) ? info : null
}
