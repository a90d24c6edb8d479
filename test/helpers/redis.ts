/**
 * A real redis-server (Debian's) for a test: on a free loopback port, in its own temporary
 * directory, with the append-only file on as docs/sync.md asks. `kill()` is a crash (SIGKILL);
 * `restart()` starts it again on the same port and directory, so it reloads what it had written.
 */
import { until } from './wait.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

export interface TestRedis {
  url: string
  port: number
  dir: string
  /** SIGKILL: what a crash leaves is what the append-only file had. */
  kill(): Promise<void>
  restart(): Promise<void>
  /** Stops it and removes its directory. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL')
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  running.add(proc)
  proc.once('exit', () => running.delete(proc))
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  try {
    await until('redis-server to answer PING', () => answers(port), {
      timeoutMs: 10_000,
      giveUp: () => (proc.exitCode === null ? undefined : `redis-server exited (${proc.exitCode})`),
    })
  } catch (error) {
    throw new Error(`${(error as Error).message}:\n${out}`)
  }
  return proc
}

/** True when something on `port` answers PING like Redis. */
async function answers(port: number): Promise<boolean> {
  const { connect } = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)))
    socket.on('error', () => resolve(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      reply += d.toString()
      if (reply.includes('\r\n')) {
        socket.destroy()
        resolve(reply.startsWith('+PONG'))
      }
    })
  })
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => proc.once('exit', () => resolve()))
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-redis-'))
  let port = 0
  let proc: ChildProcess | undefined
  for (let attempt = 0; !proc; attempt++) {
    port = await freePort()
    try {
      proc = await launch(port, dir)
    } catch (err) {
      if (attempt >= 3) throw err // the port was taken between probing and binding: try another
    }
  }
  let current: ChildProcess = proc
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    async kill() {
      current.kill('SIGKILL')
      await exited(current)
    },
    async restart() {
      current = await launch(port, dir)
    },
    async stop() {
      current.kill('SIGKILL')
      await exited(current)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
