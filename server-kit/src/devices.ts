/**
 * Device tokens and pairing codes, kept in `<home>/devices.json` (docs/daemon.md, "Devices").
 *
 * The file is the single source of truth, shared by every process on the home: `tabula pair` and
 * `tabula devices revoke` write it, and every running server reads it again whenever it changes
 * (a directory watch, and a cheap stat before each check), so a revocation reaches `tabula up`,
 * or a daemon and a sync server running apart, without any of them being asked over the network.
 * Writers take a lock file, so a pairing redeemed while another is being created loses neither.
 *
 * Only SHA-256 hashes of tokens and codes are stored: both are 128 or more random bits, so a
 * plain hash is as good as a slow one and costs nothing per request. A token is shown once, to
 * the device that redeems the code; nobody can read it back from the home.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, watch, writeSync, type FSWatcher } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DEVICE_NAME_RE, Listeners, PAIRING_CODE_RE, type DeviceScope, type Principal } from '@tabula/protocol'
import { MAX_DEVICES, MAX_PENDING_PAIRINGS, PAIRING_TTL_MS } from '@tabula/protocol'
import { isProcessAlive } from './home.js'
import { writeFileDurableSync } from './durable-write.js'

export const DEVICES_FILE = 'devices.json'
/** When each device was last seen; written by servers only, so it never races a revocation. */
export const DEVICES_SEEN_FILE = 'devices-seen.json'
const LOCK_SUFFIX = '.lock'
/** A device token: a recognisable prefix (so a leaked one can be found in logs) and 256 random bits. */
const DEVICE_TOKEN_PREFIX = 'tdev_'
const DEVICE_TOKEN_BYTES = 32
const PAIRING_CODE_BYTES = 16
/** Last-seen times are written at most this often per device: a rough figure, kept cheap. */
export const SEEN_RESOLUTION_MS = 60_000
/** A writer gives up waiting for another's lock after this long, and breaks a lock older than it. */
const LOCK_WAIT_MS = 2_000

interface DeviceRecord {
  name: string
  scope: DeviceScope
  createdAt: number
  tokenHash: string
}

interface PairingRecord {
  name: string
  scope: DeviceScope
  createdAt: number
  expiresAt: number
  codeHash: string
}

interface DevicesFile {
  version: 1
  devices: DeviceRecord[]
  pairings: PairingRecord[]
}

export interface DeviceInfo {
  name: string
  scope: DeviceScope
  createdAt: number
  /** null until the device has used its token. */
  lastSeen: number | null
}

export interface PendingPairing {
  name: string
  scope: DeviceScope
  createdAt: number
  expiresAt: number
}

/** A refusal a person can act on: the CLI prints the message, the pairing route answers with it. */
export class DeviceError extends Error {
  override name = 'DeviceError'
  constructor(
    readonly reason: 'invalid' | 'conflict' | 'full' | 'not_found' | 'pairing_invalid',
    message: string,
  ) {
    super(message)
  }
}

const sha256 = (secret: string) => createHash('sha256').update(secret).digest('hex')

export interface DeviceStoreOptions {
  now?: () => number
}

/**
 * One home's devices. Every read goes through `current()`, which reloads the file when it changed
 * on disk; every write goes through `mutate()`, under the lock, from a fresh read.
 */
export class DeviceStore {
  private readonly path: string
  private readonly seenPath: string
  private readonly now: () => number
  private data: DevicesFile = emptyFile()
  private byHash = new Map<string, DeviceRecord>()
  private stamp = ''
  private readonly seen = new Map<string, number>()
  private readonly seenWritten = new Map<string, number>()
  private readonly revoked = new Listeners<[names: string[]]>()
  private watcher: FSWatcher | undefined

  constructor(
    readonly home: string,
    opts: DeviceStoreOptions = {},
  ) {
    this.path = join(home, DEVICES_FILE)
    this.seenPath = join(home, DEVICES_SEEN_FILE)
    this.now = opts.now ?? Date.now
    this.current() // a broken file is reported at start, naming it
  }

  // ── for `tabula pair` and `tabula devices` ────────────────────────────────────────────────

  /** A one-time pairing code for a new device; the code is returned once and only its hash kept. */
  createPairing(opts: { name?: string; scope: DeviceScope }): { code: string } & PendingPairing {
    if (opts.name !== undefined && !DEVICE_NAME_RE.test(opts.name)) {
      throw new DeviceError('invalid', `"${opts.name}" is not a device name: use 1 to 64 of letters, digits, ".", "_" and "-"`)
    }
    const code = randomBytes(PAIRING_CODE_BYTES).toString('hex')
    let pending!: PendingPairing
    this.mutate((file) => {
      const taken = new Set([...file.devices.map((d) => d.name), ...file.pairings.map((p) => p.name)])
      const name = opts.name ?? firstFreeName(taken)
      if (taken.has(name)) {
        throw new DeviceError(
          'conflict',
          `a device named "${name}" already exists (or is being paired); pick another --name or revoke it first`,
        )
      }
      if (file.devices.length + file.pairings.length >= MAX_DEVICES) {
        throw new DeviceError('full', `${MAX_DEVICES} devices are paired already; revoke one first (tabula devices revoke NAME)`)
      }
      if (file.pairings.length >= MAX_PENDING_PAIRINGS) {
        throw new DeviceError('full', `${MAX_PENDING_PAIRINGS} pairing links are waiting already; open or revoke them first`)
      }
      const createdAt = this.now()
      pending = { name, scope: opts.scope, createdAt, expiresAt: createdAt + PAIRING_TTL_MS }
      file.pairings.push({ ...pending, codeHash: sha256(code) })
    })
    return { code, ...pending }
  }

  /** Ends a device (or a pairing link not yet opened). False when no such name exists. */
  revoke(name: string): boolean {
    let found = false
    this.mutate((file) => {
      const before = file.devices.length + file.pairings.length
      file.devices = file.devices.filter((d) => d.name !== name)
      file.pairings = file.pairings.filter((p) => p.name !== name)
      found = file.devices.length + file.pairings.length < before
    })
    return found
  }

  list(): { devices: DeviceInfo[]; pairings: PendingPairing[] } {
    const file = this.current()
    const seen = { ...this.readSeenFile(), ...Object.fromEntries(this.seen) }
    const now = this.now()
    return {
      devices: file.devices.map((d) => ({ name: d.name, scope: d.scope, createdAt: d.createdAt, lastSeen: seen[d.name] ?? null })),
      pairings: file.pairings
        .filter((p) => p.expiresAt > now)
        .map((p) => ({ name: p.name, scope: p.scope, createdAt: p.createdAt, expiresAt: p.expiresAt })),
    }
  }

  // ── for servers ───────────────────────────────────────────────────────────────────────────

  /** Turns a pairing code into the device's token, once. Throws DeviceError('pairing_invalid'). */
  redeem(code: string): { token: string; name: string; scope: DeviceScope } {
    const invalid = new DeviceError(
      'pairing_invalid',
      'this pairing link is not valid: it was used already, it expired, or it was revoked; run `tabula pair` again',
    )
    if (!PAIRING_CODE_RE.test(code)) throw invalid
    // Refused without the lock or a write when no such code waits: a flood of guesses costs a stat each.
    if (!this.current().pairings.some((p) => p.codeHash === sha256(code))) throw invalid
    const token = DEVICE_TOKEN_PREFIX + randomBytes(DEVICE_TOKEN_BYTES).toString('hex')
    let device!: DeviceRecord
    this.mutate((file) => {
      const hash = sha256(code)
      const pairing = file.pairings.find((p) => p.codeHash === hash && p.expiresAt > this.now())
      if (!pairing) throw invalid
      file.pairings = file.pairings.filter((p) => p !== pairing)
      device = { name: pairing.name, scope: pairing.scope, createdAt: this.now(), tokenHash: sha256(token) }
      file.devices.push(device)
    })
    return { token, name: device.name, scope: device.scope }
  }

  /** The device a token belongs to, or null. Notes when it was seen. */
  verify(token: string): Principal | null {
    if (!token.startsWith(DEVICE_TOKEN_PREFIX)) return null
    this.current()
    const device = this.byHash.get(sha256(token))
    if (!device) return null
    this.noteSeen(device.name)
    return { kind: 'device', name: device.name, scope: device.scope }
  }

  /** Called with the names of devices that disappeared from the file (revoked), as soon as it changes. */
  onRevoked(listener: (names: string[]) => void): () => void {
    const subscription = this.revoked.add(listener)
    this.startWatching()
    return () => subscription.dispose()
  }

  close(): void {
    this.watcher?.close()
    this.watcher = undefined
    this.revoked.clear()
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  /** The file as it is on disk now, reloaded when its size or mtime changed since the last read. */
  private current(): DevicesFile {
    let stamp: string
    try {
      const st = statSync(this.path)
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      stamp = 'missing'
    }
    if (stamp === this.stamp) return this.data
    const before = this.data.devices.map((d) => d.name)
    this.data = stamp === 'missing' ? emptyFile() : parseDevicesFile(readFileSync(this.path, 'utf8'), this.path)
    this.byHash = new Map(this.data.devices.map((d) => [d.tokenHash, d]))
    this.stamp = stamp
    const still = new Set(this.data.devices.map((d) => d.name))
    const revoked = before.filter((name) => !still.has(name))
    if (revoked.length > 0) this.revoked.emit(revoked)
    return this.data
  }

  private startWatching(): void {
    if (this.watcher) return
    // The directory, not the file: every write replaces the file (rename), which ends a file watch.
    try {
      this.watcher = watch(this.home, { persistent: false }, (_event, filename) => {
        if (filename === DEVICES_FILE) this.reloadQuietly()
      })
      this.watcher.on('error', () => {})
    } catch {
      // No watch (some filesystems): the stat before each check still catches every change.
    }
  }

  private reloadQuietly(): void {
    try {
      this.current()
    } catch {
      // A half-edited file by hand: fail closed until it parses again.
      const names = this.data.devices.map((d) => d.name)
      this.data = emptyFile()
      this.byHash.clear()
      this.stamp = ''
      if (names.length) this.revoked.emit(names)
    }
  }

  private mutate(change: (file: DevicesFile) => void): void {
    withLock(this.path + LOCK_SUFFIX, () => {
      this.stamp = '' // read afresh under the lock: another process may have written a moment ago
      const file = structuredClone(this.current())
      const now = this.now()
      file.pairings = file.pairings.filter((p) => p.expiresAt > now)
      change(file)
      writeFileDurableSync(this.path, JSON.stringify(file, null, 2) + '\n')
      this.current()
    })
  }

  private noteSeen(name: string): void {
    const now = this.now()
    this.seen.set(name, now)
    if (now - (this.seenWritten.get(name) ?? -Infinity) < SEEN_RESOLUTION_MS) return
    this.seenWritten.set(name, now)
    try {
      const merged = this.readSeenFile()
      for (const [n, t] of this.seen) merged[n] = Math.max(merged[n] ?? 0, t)
      writeFileDurableSync(this.seenPath, JSON.stringify(merged) + '\n')
    } catch {
      // Last seen is a convenience; failing to record it must never refuse a request.
    }
  }

  private readSeenFile(): Record<string, number> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.seenPath, 'utf8'))
      if (!parsed || typeof parsed !== 'object') return {}
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'number')) as Record<string, number>
    } catch {
      return {}
    }
  }
}

function emptyFile(): DevicesFile {
  return { version: 1, devices: [], pairings: [] }
}

function firstFreeName(taken: Set<string>): string {
  for (let n = 1; ; n++) if (!taken.has(`device-${n}`)) return `device-${n}`
}

const SCOPES: readonly DeviceScope[] = ['full', 'watch']
const HASH_RE = /^[0-9a-f]{64}$/

/** Reads the file strictly: a record that is not exactly right stops the server, naming the file. */
export function parseDevicesFile(text: string, path: string): DevicesFile {
  const bad = (why: string) =>
    new Error(`${path} is not a valid devices file (${why}); fix or remove it (removing it revokes every device)`)
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw bad((err as Error).message)
  }
  if (!raw || typeof raw !== 'object') throw bad('not an object')
  const { version, devices, pairings } = raw as Record<string, unknown>
  if (version !== 1) throw bad(`unknown version ${JSON.stringify(version)}`)
  if (!Array.isArray(devices) || !Array.isArray(pairings)) throw bad('"devices" and "pairings" must be lists')
  const base = (r: unknown): r is Record<string, unknown> =>
    !!r &&
    typeof r === 'object' &&
    typeof (r as Record<string, unknown>).name === 'string' &&
    DEVICE_NAME_RE.test((r as { name: string }).name) &&
    SCOPES.includes((r as { scope: DeviceScope }).scope) &&
    Number.isFinite((r as { createdAt: number }).createdAt)
  for (const d of devices)
    if (!base(d) || typeof d.tokenHash !== 'string' || !HASH_RE.test(d.tokenHash)) throw bad('a device record is malformed')
  for (const p of pairings) {
    if (!base(p) || typeof p.codeHash !== 'string' || !HASH_RE.test(p.codeHash) || !Number.isFinite(p.expiresAt))
      throw bad('a pairing record is malformed')
  }
  return { version: 1, devices: devices as DeviceRecord[], pairings: pairings as PairingRecord[] }
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding the owner's pid). A lock
 * whose owner is dead, or older than LOCK_WAIT_MS, is broken: writes take microseconds.
 */
function withLock<T>(lockPath: string, fn: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    let fd: number
    try {
      fd = openSync(lockPath, 'wx', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (staleLock(lockPath)) {
        rmSync(lockPath, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by another tabula process; try again`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
      continue
    }
    try {
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return fn()
    } finally {
      rmSync(lockPath, { force: true })
    }
  }
}

function staleLock(lockPath: string): boolean {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8'))
    if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) return true
    return Date.now() - statSync(lockPath).mtimeMs > LOCK_WAIT_MS
  } catch {
    return !existsSync(lockPath)
  }
}
