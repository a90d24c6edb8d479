/**
 * Runs the real `tabula` command (the built CLI) in a child process with its own home, and
 * waits until it has written runtime.json. Every integration test starts its servers this way.
 */
import { until } from './wait.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TABULA_BIN = fileURLToPath(new URL('../../cli/bin/tabula.js', import.meta.url))

export interface RunningTabula {
  proc: ChildProcess
  home: string
  token: string
  /** `url` under `tabula up`; daemonUrl/syncUrl when a component runs alone. */
  url: string
  daemonUrl: string
  syncUrl: string
  /** Everything the process printed so far. */
  output(): string
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Every tabula this test worker started and has not seen exit. If the worker ends before a
 * file's afterAll could stop one, it is killed with the worker rather than left running.
 */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL')
})

export function tempHome(prefix = 'tabula-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export interface StartOptions {
  home?: string
  env?: Record<string, string>
  timeoutMs?: number
}

/** `startTabula(['up', '--port', '0'])`: resolves once the process is ready to serve. */
export async function startTabula(args: string[], opts: StartOptions = {}): Promise<RunningTabula> {
  const home = opts.home ?? tempHome()
  const fullArgs = args.includes('--home') ? args : [...args, '--home', home]
  if (!fullArgs.includes('--port')) fullArgs.push('--port', '0')
  const proc = spawn(process.execPath, [TABULA_BIN, ...fullArgs], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  running.add(proc)
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc)
      resolve(code)
    }),
  )

  const runtime = await waitFor(
    () => readRuntime(home, proc.pid!),
    opts.timeoutMs ?? 20_000,
    exited,
    () => out,
  )
  const token = readFileSync(join(home, 'token'), 'utf8').trim()
  const url = runtime.url ?? runtime.daemonUrl ?? runtime.syncUrl!
  return {
    proc,
    home,
    token,
    url,
    daemonUrl: runtime.daemonUrl ?? url,
    syncUrl: runtime.syncUrl ?? url,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
      proc.kill(signal)
      return exited
    },
  }
}

interface Runtime {
  pid: number
  url?: string
  daemonUrl?: string
  syncUrl?: string
}

function readRuntime(home: string, pid: number): Runtime | null {
  try {
    const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as Runtime
    return runtime.pid === pid ? runtime : null
  } catch {
    return null
  }
}

async function waitFor<T>(probe: () => T | null, timeoutMs: number, exited: Promise<number | null>, output: () => string): Promise<T> {
  let gone: number | null | undefined
  void exited.then((code) => (gone = code))
  try {
    return await until('tabula to be ready', probe, {
      timeoutMs,
      giveUp: () => (gone === undefined ? undefined : `tabula exited (${gone})`),
    })
  } catch (error) {
    throw new Error(`${(error as Error).message}:\n${output()}`)
  }
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true })
}

/** fetch with the bearer token. */
export function authedFetch(base: string, token: string) {
  return (path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) } })
}
