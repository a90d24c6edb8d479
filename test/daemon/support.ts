/**
 * Small helpers for the daemon's integration tests: JSON calls with the token, waiting for a
 * condition the daemon reaches on its own, and asking the OS whether a process survived.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import type { Session, Workspace } from '@tabula/protocol'
import type { RunningTabula } from '../helpers/tabula.js'

export interface Reply<T = any> {
  status: number
  body: T
}

export function api(t: RunningTabula) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const res = await fetch(t.daemonUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  return {
    call,
    // A new workspace must be an existing directory (docs/daemon.md).
    workspace: async (path: string) => (
      mkdirSync(path, { recursive: true }), (await call<Workspace>('POST', '/v1/workspaces', { path })).body
    ),
    spawn: (ws: string, body: Record<string, unknown> = {}) => call<{ session: Session }>('POST', `/v1/workspaces/${ws}/sessions`, body),
    sessions: async (ws: string) => (await call<{ seq: number; sessions: Session[] }>('GET', `/v1/workspaces/${ws}/sessions`)).body,
    close: (ws: string, key: string) => call('DELETE', `/v1/workspaces/${ws}/sessions/${key}`),
  }
}

/** True when the process no longer runs (gone, or a zombie nobody has reaped yet). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** The file's trimmed text, or null while it is missing or empty. */
export function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null
  } catch {
    return null
  }
}

export function readPid(file: string): number | null {
  const pid = Number(readText(file))
  return pid > 0 ? pid : null
}

/**
 * Pids of live (not zombie) processes whose command line is `argv`, argv[0] compared by its last
 * path component (a program started by path or by name alike; Linux /proc).
 */
export function pidsRunning(...argv: string[]): number[] {
  const wanted = argv.join('\0')
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '')
      if (cmdline.replace(/^[^\0]*\//, '') === wanted && !processGone(pid)) pids.push(pid)
    } catch {
      /* gone meanwhile */
    }
  }
  return pids
}

/** Where each of a process's descriptors points (Linux /proc). */
export function fdsOf(pid: number): Map<number, string> {
  const fds = new Map<number, string>()
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(Number(name), readlinkSync(`/proc/${pid}/fd/${name}`))
    } catch {
      /* closed meanwhile */
    }
  }
  return fds
}
