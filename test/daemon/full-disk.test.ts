/**
 * State on a failing disk (docs/daemon.md "State on a failing disk"): the real daemon with its
 * home, and its log, on a small tmpfs that the test fills. A request that cannot be saved gets
 * 507 and is undone, the daemon keeps running while its log cannot be written, failed writes are
 * retried until one succeeds, and shutdown writes what is unwritten. Needs root (mount); skipped
 * otherwise, saying so.
 */
import { until } from '../helpers/wait.js'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TABULA_BIN, type RunningTabula } from '../helpers/tabula.js'
import { api } from './support.js'

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false
  const probe = mkdtempSync(join(tmpdir(), 'tabula-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

const MOUNTABLE = canMount()
if (!MOUNTABLE) console.warn('full-disk tests skipped: they need root to mount a small tmpfs')

let home = ''
const FILLER = () => join(home, 'filler')

/** Fills the file system holding the home until a write fails with ENOSPC. */
function fillDisk(): void {
  const { bavail, bsize } = statfsSync(home)
  try {
    writeFileSync(FILLER(), Buffer.alloc(Math.max(0, Number(bavail) * Number(bsize) - 4096)))
    for (;;) appendFileSync(FILLER(), Buffer.alloc(512))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  }
}

const freeDisk = () => rmSync(FILLER(), { force: true })

/** `tabula daemon` on the home, its stderr (the log) in a file on the same small disk. */
async function startDaemon(): Promise<RunningTabula & { proc: ChildProcess }> {
  const log = openSync(join(home, 'daemon.log'), 'a')
  const proc = spawn(process.execPath, [TABULA_BIN, 'daemon', '--port', '0', '--home', home], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', log],
  })
  closeSync(log)
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const runtime = await until(
    'the daemon to be ready',
    () => {
      if (proc.exitCode !== null) throw new Error(`the daemon exited: ${readFileSync(join(home, 'daemon.log'), 'utf8').slice(-2000)}`)
      try {
        const info = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
        return info.pid === proc.pid ? (info.daemonUrl as string) : null
      } catch {
        return null
      }
    },
    20_000,
  )
  const token = readFileSync(join(home, 'token'), 'utf8').trim()
  return {
    proc,
    home,
    token,
    url: runtime,
    daemonUrl: runtime,
    syncUrl: runtime,
    output: () => '',
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode
      proc.kill('SIGTERM')
      return exited
    },
  }
}

const stateOnDisk = () =>
  JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as { workspaces: { path: string }[]; sessions: { key: string }[] }

describe.skipIf(!MOUNTABLE)('a full disk under the home', () => {
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'tabula-full-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', home])
  })
  afterAll(() => {
    try {
      execFileSync('umount', ['-l', home])
    } catch {
      /* not mounted */
    }
    rmSync(home, { recursive: true, force: true })
  })

  it('refuses with 507 what it cannot save, stays up, retries, and forgets nothing it accepted', async () => {
    // Workspace directories must exist; they live on the ordinary disk, only the home is full.
    const dirs = mkdtempSync(join(tmpdir(), 'tabula-full-ws-'))
    const workspaceDir = (name: string): string => {
      const dir = join(dirs, name)
      mkdirSync(dir)
      return dir
    }
    const keptDir = workspaceDir('kept')
    const newDir = workspaceDir('new')
    const laterDir = workspaceDir('later')
    let t = await startDaemon()
    try {
      const a = api(t)
      const ws = await a.workspace(keptDir)
      const kept = await a.spawn(ws.id, { key: 'hb-kept', command: 'sleep', args: ['1000'] })
      expect(kept.status).toBe(201)
      const doomed = await a.spawn(ws.id, { key: 'hb-closed', command: 'sleep', args: ['1000'] })
      expect(doomed.status).toBe(201)
      expect(statSync(join(home, 'state.json')).mode & 0o777).toBe(0o600)

      fillDisk()
      const created = await a.call('POST', '/v1/workspaces', { path: newDir })
      expect(created.status).toBe(507)
      expect(created.body.error).toEqual({ code: 'insufficient_storage', message: expect.stringMatching(/not created.*disk .* is full/) })
      expect((await a.call('GET', '/v1/workspaces')).body.map((w: { path: string }) => w.path)).not.toContain(newDir)

      const spawned = await a.spawn(ws.id, { key: 'hb-refused', command: 'sleep', args: ['1000'] })
      expect(spawned.status).toBe(507)
      expect((spawned.body as unknown as { error: { message: string } }).error.message).toMatch(/hb-refused was not started.*full/)
      expect((await a.sessions(ws.id)).sessions.map((s) => s.key)).not.toContain('hb-refused')

      const closed = await a.close(ws.id, 'hb-closed')
      expect(closed.status).toBe(507)
      expect(closed.body.error.message).toMatch(/hb-closed has ended, but its removal is not saved yet/)
      // The daemon logs each failure to a log it cannot write either, and keeps serving.
      expect((await fetch(`${t.daemonUrl}/v1/health`)).status).toBe(200)
      expect(t.proc.exitCode).toBeNull()

      // Space comes back: the retries take the state to disk without being asked.
      freeDisk()
      await until('the retried write', () => !stateOnDisk().sessions.some((s) => s.key === 'hb-closed'), 20_000)
      expect((await a.call('POST', '/v1/workspaces', { path: laterDir })).status).toBe(201)

      // Shutdown writes what is unwritten: a change refused while full, space freed, stop at once.
      fillDisk()
      expect((await a.close(ws.id, 'hb-kept')).status).toBe(507)
      freeDisk()
      expect(await t.stop()).toBe(0)
      expect(stateOnDisk().sessions.map((s) => s.key)).toEqual([])

      t = await startDaemon()
      const after = api(t)
      expect((await after.call('GET', '/v1/workspaces')).body.map((w: { path: string }) => w.path).sort()).toEqual(
        [keptDir, laterDir].sort(),
      )
      expect((await after.sessions(ws.id)).sessions).toEqual([])
    } finally {
      freeDisk()
      await t.stop()
      rmSync(dirs, { recursive: true, force: true })
    }
  }, 90_000)
})

describe.skipIf(!MOUNTABLE)('a read-only home', () => {
  it('says in words that the home cannot be written, not a raw EROFS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabula-ro-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', dir])
    try {
      const proc = spawn(process.execPath, [TABULA_BIN, 'daemon', '--port', '0', '--home', dir], {
        env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      proc.stdout!.on('data', (d: Buffer) => (out += d))
      proc.stderr!.on('data', (d: Buffer) => (out += d))
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve))
      expect(code).toBe(1)
      expect(out).toContain(
        `${dir} is on a read-only file system (EROFS): tabula keeps its lock, token and state there; make it writable or pick another --home`,
      )
    } finally {
      execFileSync('umount', [dir])
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
