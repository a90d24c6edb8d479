/**
 * A daemon at its file-descriptor limit (docs/daemon.md "Bounds"): half-open connections cannot
 * lock out the token holder, and a spawn that finds no descriptor left gets 503 with a reason,
 * then works again once sessions are closed. The real daemon under `ulimit -n 128`.
 */
import { until } from '../helpers/wait.js'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TABULA_BIN, removeHome, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { api } from './support.js'

let t: RunningTabula
let home: string
const sockets: Socket[] = []

beforeAll(async () => {
  home = tempHome()
  const proc = spawn('sh', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${TABULA_BIN}" daemon --port 0 --home "${home}"`], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d))
  proc.stderr!.on('data', (d: Buffer) => (out += d))
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve))
  const url = await until(
    'the daemon to start',
    () => {
      if (proc.exitCode !== null) throw new Error(out)
      try {
        const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
        return runtime.pid === proc.pid ? (runtime.daemonUrl as string) : null
      } catch {
        return null
      }
    },
    20_000,
  )
  t = {
    proc,
    home,
    token: readFileSync(join(home, 'token'), 'utf8').trim(),
    url,
    daemonUrl: url,
    syncUrl: url,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode
      proc.kill('SIGTERM')
      return exited
    },
  }
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await t?.stop()
  removeHome(home)
})

it('200 half-open connections (more than the fd limit allows) do not lock out the token holder', async () => {
  const port = Number(new URL(t.daemonUrl).port)
  for (let i = 0; i < 200; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    sockets.push(socket)
  }
  await Promise.all(
    sockets.map(
      (s) => new Promise((resolve) => (s.readyState === 'open' ? resolve(null) : s.once('connect', resolve).once('close', resolve))),
    ),
  )
  const res = await api(t).call('GET', '/v1/workspaces')
  expect(res.status).toBe(200)
  for (const s of sockets.splice(0)) s.destroy()
})

it('a spawn with no descriptor left gets 503 with a reason; closing sessions brings spawns back', async () => {
  const a = api(t)
  const ws = await a.workspace('/tmp/fd-limit')
  const keys: string[] = []
  type Refusal = { status: number; body: { error: { code: string; message: string } } }
  const refusals: Refusal[] = []
  for (let i = 0; i < 200 && refusals.length === 0; i++) {
    const res = await a.spawn(ws.id, { command: 'sleep', args: ['1000'] })
    if (res.status === 201) keys.push(res.body.session.key)
    else refusals.push(res as unknown as Refusal)
  }
  expect(refusals[0]?.status).toBe(503)
  expect(refusals[0]!.body.error).toEqual({
    code: 'unavailable',
    message: expect.stringMatching(/out of file descriptors or processes.*ulimit -n/),
  })
  expect((await fetch(`${t.daemonUrl}/v1/health`)).status).toBe(200)
  for (const key of keys.splice(0, 5)) expect((await a.close(ws.id, key)).status).toBe(200)
  expect((await a.spawn(ws.id, { command: 'sleep', args: ['1000'] })).status).toBe(201)
}, 60_000)
