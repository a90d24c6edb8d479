/**
 * The commands a person types: `tabula up` and its shutdown, and ls / spawn / close against it.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeHome, startTabula, TABULA_BIN, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { api, processGone } from './support.js'

const exec = promisify(execFile)

let up: RunningTabula
let dir: string

beforeAll(async () => {
  up = await startTabula(['up'])
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tabula-cli-')))
})

afterAll(async () => {
  await up?.stop()
  removeHome(up?.home ?? '')
  rmSync(dir, { recursive: true, force: true })
})

/** Runs `tabula <args>` from `dir` against the running `up`; resolves to what it printed. */
async function tabula(args: string[], home = up.home): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [TABULA_BIN, args[0]!, '--home', home, ...args.slice(1)], {
      cwd: dir,
      env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('tabula up', () => {
  it('serves health on one port and prints the viewer address with the token in the fragment', async () => {
    const res = await fetch(up.url + '/v1/health')
    expect(res.status).toBe(200)
    expect(up.output()).toContain(`${up.url}/#token=${up.token}`)
    expect(up.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('refuses a second daemon on the same home', async () => {
    const second = await tabula(['daemon', '--port', '0'])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/already running under/)
  })
})

/** A token holds at least 128 bits of secret (docs/architecture.md, "Defaults"). */
const MIN_TOKEN_BITS = 128

function runtimeOf(home: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
}

describe('files under the home', () => {
  it('keeps the token private (mode 0600) and long enough (hex, ≥ 128 bits)', () => {
    const file = join(up.home, 'token')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const token = readFileSync(file, 'utf8').trim()
    expect(token).toBe(up.token)
    expect(token).toMatch(/^[0-9a-f]+$/)
    expect(token.length * 4).toBeGreaterThanOrEqual(MIN_TOKEN_BITS)
  })

  it('tightens a token file found readable by others instead of trusting it', async () => {
    const home = tempHome()
    const file = join(home, 'token')
    writeFileSync(file, 'f'.repeat(64) + '\n', { mode: 0o644 })
    const own = await startTabula(['daemon'], { home })
    try {
      expect(statSync(file).mode & 0o777).toBe(0o600)
    } finally {
      await own.stop()
      removeHome(home)
    }
  })

  it('writes runtime.json as {pid, url} under up and {pid, daemonUrl} under daemon', async () => {
    // `urls`: every address printed for a person (here loopback only), for `tabula pair`.
    expect(runtimeOf(up.home)).toEqual({ pid: up.proc.pid, url: up.url, urls: [up.url] })
    const own = await startTabula(['daemon'])
    try {
      expect(runtimeOf(own.home)).toEqual({ pid: own.proc.pid, daemonUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) })
      expect((await fetch(`${runtimeOf(own.home).daemonUrl}/v1/health`)).status).toBe(200)
    } finally {
      await own.stop()
      removeHome(own.home)
    }
  })
})

describe('ls, spawn, close', () => {
  it('spawns in the current directory, lists, finds again, and closes', async () => {
    const spawned = await tabula(['spawn', '--key', 'hb-cli', '--', 'sleep', '1000'])
    expect(spawned.code).toBe(0)
    expect(spawned.stdout).toMatch(/^spawned hb-cli in tabula-cli-\S+ \(pid \d+, sleep 1000\)/)

    const again = await tabula(['spawn', '--key', 'hb-cli', '--json'])
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, session: { key: 'hb-cli', command: 'sleep' } })

    const workspaces = await tabula(['ls'])
    expect(workspaces.stdout).toMatch(/^ID\s+NAME\s+PATH\n/)
    expect(workspaces.stdout).toContain(dir)

    const sessions = await tabula(['ls', dir])
    expect(sessions.stdout).toMatch(/hb-cli\s+heartbeat\s+running\s+\d+\s+sleep 1000/)

    const closed = await tabula(['close', 'hb-cli'])
    expect(closed).toMatchObject({ code: 0, stdout: 'closed hb-cli\n' })
    const json = JSON.parse((await tabula(['ls', '.', '--json'])).stdout)
    expect(json.sessions).toEqual([])
  })

  it('explains a bad key, an unknown session, and a tabula that is not running', async () => {
    expect((await tabula(['spawn', '--key', 'nope'])).stderr).toMatch(/"nope" is not a session key/)
    expect((await tabula(['close', 'hb-never'])).stderr).toMatch(/no session hb-never in any workspace/)
    const elsewhere = tempHome()
    const idle = await tabula(['ls'], elsewhere)
    removeHome(elsewhere)
    expect(idle.code).toBe(1)
    expect(idle.stderr).toContain(`no tabula running under ${elsewhere}: start it with \`npm start\` or \`tabula up\``)
  })

  it.each(['up', 'daemon', 'ls', 'spawn', 'close'])('has --help for %s', async (command) => {
    const help = await tabula([command, '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(`Usage: tabula ${command}`)
  })
})

describe('shutdown and exposure', () => {
  it('ends its PTYs, clears runtime.json and exits 0 on SIGINT', async () => {
    const own = await startTabula(['up'])
    const http = api(own)
    const ws = await http.workspace(dir)
    const { session } = (await http.spawn(ws.id, { command: 'sleep', args: ['1000'] })).body
    expect(await own.stop('SIGINT')).toBe(0)
    expect(processGone(session.pid)).toBe(true)
    expect(existsSync(join(own.home, 'runtime.json'))).toBe(false)
    removeHome(own.home)
  })

  it('warns loudly when listening beyond loopback', async () => {
    const exposed = await startTabula(['daemon', '--host', '0.0.0.0'])
    expect((await fetch(exposed.daemonUrl + '/v1/health')).status).toBe(200)
    expect(exposed.output()).toContain('REACHABLE FROM THE NETWORK')
    expect(await exposed.stop()).toBe(0)
    removeHome(exposed.home)
  })
})
