/**
 * `discover` (client-sdk/src/discover.ts): how the CLI, the VS Code extension and Node programs
 * find the running tabula. Real processes and real files under a temporary home: runtime.json
 * is trusted only while the process that wrote it lives and holds the home's lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { connect, discover, DiscoverError } from '@tabula/client-sdk'
import { DaemonClient } from '@tabula/protocol'
import { resolveEndpoint as extensionEndpoint } from '../../examples/vscode-extension/src/endpoint.js'
import { removeHome, startTabula, TABULA_BIN, tempHome, type RunningTabula } from '../helpers/tabula.js'

const run = promisify(execFile)

function reasonOf(call: () => unknown): string {
  try {
    call()
  } catch (err) {
    if (err instanceof DiscoverError) return err.reason
    throw err
  }
  return 'found'
}

describe('discover', () => {
  let up: RunningTabula
  beforeAll(async () => {
    up = await startTabula(['up'])
  })
  afterAll(async () => {
    await up?.stop()
    if (up) removeHome(up.home)
  })

  it('finds a running `tabula up`: one address for both servers, its pid and the token', async () => {
    const found = discover({ home: up.home })
    expect(found).toEqual({ home: up.home, pid: up.proc.pid, daemonUrl: up.url, syncUrl: up.url, urls: [up.url], token: up.token })
    // What it found answers: the typed client reaches the daemon with it.
    expect(await new DaemonClient({ url: found.daemonUrl, token: found.token }).workspaces()).toEqual([])
  })

  it('reads the home from $TABULA_HOME when none is given', () => {
    const before = process.env.TABULA_HOME
    process.env.TABULA_HOME = up.home
    try {
      expect(discover().daemonUrl).toBe(up.url)
    } finally {
      if (before === undefined) delete process.env.TABULA_HOME
      else process.env.TABULA_HOME = before
    }
  })

  it('an explicit address and token win over the home, and are not checked for a process', () => {
    const home = tempHome()
    try {
      expect(discover({ home, url: 'ws://example.test:7770/', token: 'secret' })).toEqual({
        home,
        pid: null,
        daemonUrl: 'http://example.test:7770',
        syncUrl: 'http://example.test:7770',
        urls: ['http://example.test:7770'],
        token: 'secret',
      })
    } finally {
      removeHome(home)
    }
  })

  it('nothing runs: no runtime.json, one of a process that has ended, one of a live process holding no lock', async () => {
    const home = tempHome()
    try {
      expect(reasonOf(() => discover({ home }))).toBe('not_running')
      const gone = await run(process.execPath, ['-e', 'console.log(process.pid)'])
      const deadPid = Number(gone.stdout.trim())
      writeFileSync(join(home, 'runtime.json'), JSON.stringify({ pid: deadPid, url: 'http://127.0.0.1:9' }))
      writeFileSync(join(home, 'token'), 'x'.repeat(64))
      expect(reasonOf(() => discover({ home }))).toBe('not_running')
      // Alive (this test's own process), but not a tabula: it holds no lock of the home.
      writeFileSync(join(home, 'runtime.json'), JSON.stringify({ pid: process.pid, url: 'http://127.0.0.1:9' }))
      expect(reasonOf(() => discover({ home }))).toBe('not_running')
    } finally {
      removeHome(home)
    }
  })

  it('a running tabula whose token cannot be read is reported as such, with the path', () => {
    const home = tempHome()
    try {
      let error: unknown
      try {
        discover({ home, url: 'http://127.0.0.1:9' })
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(DiscoverError)
      expect((error as DiscoverError).reason).toBe('no_token')
      expect((error as Error).message).toContain(join(home, 'token'))
    } finally {
      removeHome(home)
    }
  })

  it('the VS Code extension no longer trusts the runtime.json of a process that has ended', async () => {
    const home = tempHome()
    try {
      const gone = await run(process.execPath, ['-e', 'console.log(process.pid)'])
      writeFileSync(join(home, 'runtime.json'), JSON.stringify({ pid: Number(gone.stdout.trim()), url: 'http://127.0.0.1:9' }))
      writeFileSync(join(home, 'token'), 'x'.repeat(64))
      expect(() => extensionEndpoint({ home })).toThrow(`no tabula running under ${home}: start it with \`tabula up\`, or set tabula.url`)
      expect(extensionEndpoint({ home: up.home })).toEqual({ daemonUrl: up.url, syncUrl: up.url, token: up.token })
    } finally {
      removeHome(home)
    }
  })
})

describe('discover with the daemon and the sync server running apart under one home', () => {
  let home: string
  let daemon: RunningTabula
  let sync: RunningTabula
  beforeAll(async () => {
    home = tempHome()
    daemon = await startTabula(['daemon'], { home })
    sync = await startTabula(['sync'], { home })
  })
  afterAll(async () => {
    await sync?.stop()
    await daemon?.stop()
    removeHome(home)
  })

  it('gives each its own address, and an SDK client connected with them shows the workspace', async () => {
    const found = discover({ home })
    expect(found.daemonUrl).toBe(daemon.daemonUrl)
    expect(found.syncUrl).toBe(sync.syncUrl)
    expect(found.daemonUrl).not.toBe(found.syncUrl)
    const client = await connect({ daemonUrl: found.daemonUrl, syncUrl: found.syncUrl, token: found.token })
    try {
      mkdirSync(join(home, 'project'), { recursive: true })
      const info = await client.ensureWorkspace({ path: join(home, 'project') })
      const ws = client.workspace(info.id)
      await ws.ready
      expect(ws.status).toMatchObject({ daemon: 'online', sync: 'online' })
    } finally {
      await client.close()
    }
  })

  it("`tabula tabs` reaches the sync server where it runs, not at the daemon's address", async () => {
    mkdirSync(join(home, 'cli'), { recursive: true })
    const token = readFileSync(join(home, 'token'), 'utf8').trim()
    const id = (await new DaemonClient({ url: daemon.daemonUrl, token }).ensureWorkspace({ path: join(home, 'cli') })).id
    const { stdout } = await run(process.execPath, [TABULA_BIN, 'tabs', id, '--json', '--home', home], { timeout: 20_000 })
    expect(JSON.parse(stdout)).toMatchObject({ workspace: { id }, tabs: [] })
  })
})
