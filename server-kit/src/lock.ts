/**
 * One daemon (and one sync server) per home: an exclusive lock file taken before any state is
 * read (docs/daemon.md "One daemon per home"). Two `tabula up` started a tenth of a second apart
 * otherwise both restored the same sessions and overwrote each other's state.
 *
 * The lock is `<home>/<part>.lock`, created with O_EXCL (only one process can create it), holding
 * the owner's pid, its start time and, once it serves, its address. A lock whose pid is gone, or
 * whose pid now belongs to another process (a reused pid: the start time differs), is stale and
 * taken over; that is also how runtime.json of a dead process is recognised (liveLockOwner).
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { writeFileDurableSync } from './durable-write.js'

/** What a home can run once: the daemon (sessions, state.json) and the sync server (documents). */
export type HomePart = 'daemon' | 'sync'

export interface LockOwner {
  pid: number
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat), null where unknown. */
  start: number | null
  /** Where it serves, once it does. */
  url?: string
}

export class HomeLockedError extends Error {
  constructor(
    readonly home: string,
    readonly part: HomePart,
    readonly owner: LockOwner,
  ) {
    super(
      `tabula is already running under ${home} (pid ${owner.pid}, ${owner.url ?? 'still starting'}) and holds its ${part}; ` +
        'stop it first or use another --home',
    )
    this.name = 'HomeLockedError'
  }
}

export interface HomeLock {
  /** Records where this process serves, for the message a second start prints. */
  setUrl(url: string): void
  release(): void
}

const lockPath = (home: string, part: HomePart) => join(home, `${part}.lock`)

/** The start time of a live process, or null where /proc cannot say (then pid alone is trusted). */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const start = Number(fields[19])
    return Number.isFinite(start) ? start : null
  } catch {
    return null
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner
    return typeof owner.pid === 'number' ? owner : null
  } catch {
    return null
  }
}

/** True when `owner` is the process that wrote the lock: alive, and not a reused pid. */
function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const start = processStart(owner.pid)
  return owner.start === null || start === null || start === owner.start
}

/** The live owner of a part of the home, or null when it is free or its lock is stale. */
export function liveLockOwner(home: string, part: HomePart): LockOwner | null {
  const owner = readOwner(lockPath(home, part))
  return owner && alive(owner) ? owner : null
}

/**
 * Takes the lock of every part, or throws HomeLockedError naming the live owner (after releasing
 * what it took). `onStale` hears about a stale lock taken over.
 */
export function lockHome(home: string, parts: HomePart[], onStale?: (part: HomePart, owner: LockOwner | null) => void): HomeLock {
  const me: LockOwner = { pid: process.pid, start: processStart(process.pid) }
  const taken: HomePart[] = []
  try {
    for (const part of parts) {
      takeLock(home, part, me, onStale)
      taken.push(part)
    }
  } catch (err) {
    for (const part of taken) releaseLock(home, part)
    throw err
  }
  return {
    setUrl(url) {
      me.url = url
      for (const part of taken) writeFileDurableSync(lockPath(home, part), JSON.stringify(me) + '\n')
    },
    release() {
      for (const part of taken.splice(0)) releaseLock(home, part)
    },
  }
}

function takeLock(home: string, part: HomePart, me: LockOwner, onStale?: (part: HomePart, owner: LockOwner | null) => void): void {
  const path = lockPath(home, part)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, JSON.stringify(me) + '\n')
      } finally {
        closeSync(fd)
      }
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = readOwner(path)
    // A lock being written right now is empty for an instant: only a lock whose owner can be
    // read and is gone, or that has stayed unreadable, is stale.
    if (owner && alive(owner)) throw new HomeLockedError(home, part, owner)
    if (!owner && attempt === 0) {
      sleepMs(50)
      continue
    }
    onStale?.(part, owner)
    removeStale(path, owner)
  }
  const owner = readOwner(path)
  throw new HomeLockedError(home, part, owner ?? { pid: 0, start: null })
}

/**
 * Moves the stale lock aside and deletes it. Two processes may find the same stale lock; the
 * second would move the first one's fresh lock aside, so what was moved is checked, and put
 * back (link fails if a lock exists again) when it is not the stale one.
 */
function removeStale(path: string, stale: LockOwner | null): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return // someone else moved it
  }
  const moved = readOwner(aside)
  if (moved && stale && (moved.pid !== stale.pid || moved.start !== stale.start) && alive(moved)) {
    try {
      linkSync(aside, path)
    } catch {
      /* a newer lock is in place; its owner wins */
    }
  }
  rmSync(aside, { force: true })
}

function releaseLock(home: string, part: HomePart): void {
  const path = lockPath(home, part)
  const owner = readOwner(path)
  if (owner?.pid === process.pid) rmSync(path, { force: true })
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
