/**
 * One daemon per home (docs/daemon.md "One daemon per home"): the real `tabula` command, started
 * twice at once, started beside a running one, and started over the lock and runtime.json of a
 * process that has ended or whose pid now belongs to another program.
 */
import { until } from '../helpers/wait.js'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { removeHome, startTabula, TABULA_BIN, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { api } from './support.js'

const started: RunningTabula[] = []
const homes: string[] = []
afterEach(async () => {
  for (const t of started.splice(0)) await t.stop()
  for (const home of homes.splice(0)) removeHome(home)
})

function home(): string {
  const dir = tempHome()
  homes.push(dir)
  return dir
}

/** Runs `tabula <args>` to its end (a refused start ends at once), with what it printed. */
function run(args: string[]): Promise<{ code: number | null; pid: number; output: string }> {
  const proc = spawn(process.execPath, [TABULA_BIN, ...args], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  proc.stdout.on('data', (d: Buffer) => (output += d))
  proc.stderr.on('data', (d: Buffer) => (output += d))
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, pid: proc.pid!, output })))
}

it('two `tabula up` started together on one home: one serves, the other says who holds it', async () => {
  const dir = home()
  const procs = [0, 1].map(() =>
    spawn(process.execPath, [TABULA_BIN, 'up', '--port', '0', '--home', dir], {
      env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  const outputs = procs.map((proc) => {
    const out = { text: '' }
    proc.stdout.on('data', (d: Buffer) => (out.text += d))
    proc.stderr.on('data', (d: Buffer) => (out.text += d))
    return out
  })
  try {
    const first = await Promise.race(procs.map((proc, i) => new Promise<number>((resolve) => proc.once('exit', () => resolve(i)))))
    const loser = procs[first]!
    const winner = procs[1 - first]!
    expect(loser.exitCode).toBe(1)
    expect(outputs[first]!.text).toMatch(
      new RegExp(`already running under ${dir} \\(pid ${winner.pid}, (http://127\\.0\\.0\\.1:\\d+|still starting)\\)`),
    )
    // The winner serves, alone.
    await until('the winner to write runtime.json', () => existsSync(join(dir, 'runtime.json')), 20_000)
    const runtime = JSON.parse(readFileSync(join(dir, 'runtime.json'), 'utf8'))
    expect(runtime.pid).toBe(winner.pid)
    expect((await fetch(`${runtime.url}/v1/health`)).status).toBe(200)
  } finally {
    for (const proc of procs) if (proc.exitCode === null) proc.kill('SIGTERM')
    await Promise.all(procs.map((proc) => (proc.exitCode === null ? new Promise((r) => proc.once('exit', r)) : null)))
  }
})

it('a second start beside a running daemon names its pid and address, and leaves its state alone', async () => {
  const t = await startTabula(['up'], { home: home() })
  started.push(t)
  const ws = await api(t).workspace('/tmp/lock-test')
  const second = await run(['daemon', '--port', '0', '--home', t.home])
  expect(second.code).toBe(1)
  expect(second.output).toContain(`already running under ${t.home} (pid ${t.proc.pid}, ${t.url})`)
  expect((await api(t).call('GET', `/v1/workspaces/${ws.id}`)).status).toBe(200)
  const sync = await run(['sync', '--port', '0', '--home', t.home])
  expect(sync.output).toMatch(/holds its sync/)
})

it('the lock and runtime.json of a process that has ended are recognised as stale', async () => {
  const dir = home()
  const gone = await run(['--version'])
  writeFileSync(join(dir, 'daemon.lock'), JSON.stringify({ pid: gone.pid, start: 1 }))
  writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ pid: gone.pid, daemonUrl: 'http://127.0.0.1:9' }))
  const t = await startTabula(['daemon'], { home: dir })
  started.push(t)
  expect((await fetch(`${t.daemonUrl}/v1/health`)).status).toBe(200)
  expect(JSON.parse(readFileSync(join(dir, 'daemon.lock'), 'utf8'))).toMatchObject({ pid: t.proc.pid, url: t.daemonUrl })
})

it('a reused pid (alive, but another program) in the lock and runtime.json does not block a start', async () => {
  const dir = home()
  // This test's own process is alive; the recorded start time says the lock was another's.
  writeFileSync(join(dir, 'daemon.lock'), JSON.stringify({ pid: process.pid, start: 1 }))
  writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:9' }))
  const t = await startTabula(['up'], { home: dir })
  started.push(t)
  expect((await fetch(`${t.url}/v1/health`)).status).toBe(200)
})

it('runtime.json of a live process that holds no lock (not a tabula) does not block a start', async () => {
  const dir = home()
  writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:9' }))
  const t = await startTabula(['up'], { home: dir })
  started.push(t)
  expect((await fetch(`${t.url}/v1/health`)).status).toBe(200)
})
