/**
 * Reaching tabula from another device, against real `tabula up` processes: the server's own
 * origins on every name and interface address, the pairing route and its bad input, device
 * tokens and their scopes on HTTP, the live channel and the sync server, revocation cutting open
 * sockets, and TLS with a certificate from a CA the test makes.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { execFile } from 'node:child_process'
import { request as httpsRequest } from 'node:https'
import { networkInterfaces } from 'node:os'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as Y from 'yjs'
import { PAIR_PATH, type PairResponse } from '@tabula/protocol'
import { startTabula, removeHome, TABULA_BIN, authedFetch, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { TEST_SHELL } from '../helpers/workspace.js'
import { makeTestCertificates, type TestCertificates } from '../helpers/tls.js'
import { RawViewer, makeWorkspace, spawnSession, getSession } from '../live/helpers.js'
import { connectProvider, synced, tryUpgrade } from '../sync/helpers.js'

const run = promisify(execFile)
/** runtime.json is written just before the banner: wait for the banner's last line. */
const bannerOf = async (t: RunningTabula) => {
  await until('the banner', () => t.output().includes('Stop with Ctrl-C.'))
  return t.output()
}
const PUBLIC = 'tabula.test'
const cli = (home: string, ...args: string[]) => run(process.execPath, [TABULA_BIN, ...args, '--home', home])

async function pair(t: RunningTabula, ...args: string[]): Promise<{ link: string; code: string; out: string }> {
  const { stdout } = await cli(t.home, 'pair', ...args)
  const link = /(\S+#pair=([0-9a-f]{32}))/.exec(stdout)
  if (!link) throw new Error(`no pairing link in:\n${stdout}`)
  return { link: link[1]!, code: link[2]!, out: stdout }
}

function postPair(base: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return fetch(base + PAIR_PATH, { method: 'POST', headers, body })
}

async function redeem(t: RunningTabula, code: string): Promise<PairResponse> {
  const res = await postPair(t.url, JSON.stringify({ code }))
  expect(res.status).toBe(201)
  return (await res.json()) as PairResponse
}

describe('tabula up reached by another name, with paired devices', () => {
  let t: RunningTabula
  let port: number
  let workspace: string
  let key: string

  beforeAll(async () => {
    t = await startTabula(['up', '--public-host', PUBLIC])
    port = Number(new URL(t.url).port)
    workspace = await makeWorkspace(t)
    key = (await spawnSession(t, workspace, { ...TEST_SHELL, cols: 80, rows: 24 })).key
  })
  afterAll(async () => {
    await t?.stop()
    if (t) removeHome(t.home)
  })

  it('prints the public name and allows its origin without --allow-origin; others stay out', async () => {
    expect(await bannerOf(t)).toContain(`Open the viewer: http://${PUBLIC}:${port}/#token=`)
    const own = await fetch(`${t.url}/v1/health`, { headers: { origin: `http://${PUBLIC}:${port}` } })
    expect(own.status).toBe(200)
    const foreign = await fetch(`${t.url}/v1/health`, { headers: { origin: `http://evil.test:${port}` } })
    expect(foreign.status).toBe(403)
    // The same name on another scheme or port is another origin.
    expect((await fetch(`${t.url}/v1/health`, { headers: { origin: `https://${PUBLIC}:${port}` } })).status).toBe(403)
  })

  it('tabula pair prints a one-time link on the public name, with its QR code', async () => {
    const { link, out } = await pair(t, '--name', 'pocket')
    expect(link.startsWith(`http://${PUBLIC}:${port}/#pair=`)).toBe(true)
    const qrRows = out.split('\n').filter((line) => /^[█▀▄ ]{20,}$/.test(line))
    expect(qrRows.length).toBeGreaterThan(10)
    expect(out).toContain('tabula devices revoke pocket')
  })

  it('a pairing code gives a device its own token once; the route refuses bad input clearly', async () => {
    const { code } = await pair(t, '--name', 'once')
    const device = await redeem(t, code)
    expect(device).toMatchObject({ name: 'once', scope: 'full' })
    expect(device.token).not.toBe(t.token)
    const again = await postPair(t.url, JSON.stringify({ code }))
    expect(again.status).toBe(403)
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/used already|expired/)

    const cases: Array<[string, Response, number, string]> = [
      ['malformed JSON', await postPair(t.url, '{"code":'), 400, 'invalid_json'],
      ['no code', await postPair(t.url, '{}'), 400, 'bad_request'],
      ['code of the wrong type', await postPair(t.url, '{"code": 12}'), 400, 'bad_request'],
      ['code of the wrong shape', await postPair(t.url, '{"code": "../../token"}'), 400, 'bad_request'],
      ['an unknown code', await postPair(t.url, JSON.stringify({ code: 'f'.repeat(32) })), 403, 'forbidden'],
      ['oversized', await postPair(t.url, JSON.stringify({ code: 'a'.repeat(5000) })), 413, 'payload_too_large'],
      ['not JSON', await postPair(t.url, 'code=x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
      [
        'a foreign page',
        await postPair(t.url, JSON.stringify({ code }), { 'content-type': 'application/json', origin: 'http://evil.test' }),
        403,
        'forbidden_origin',
      ],
      ['GET', await fetch(t.url + PAIR_PATH), 405, 'method_not_allowed'],
    ]
    for (const [what, res, status, codeName] of cases) {
      expect(res.status, what).toBe(status)
      expect(await res.json(), what).toMatchObject({ error: { code: codeName } })
    }
  })

  it('a flood of guessed pairing codes is refused and leaves a real one working', async () => {
    const { code } = await pair(t, '--name', 'after-flood')
    const guesses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        postPair(t.url, JSON.stringify({ code: i.toString(16).padStart(32, '0') })).then((r) => r.status),
      ),
    )
    expect(new Set(guesses)).toEqual(new Set([403]))
    expect((await redeem(t, code)).name).toBe('after-flood')
  })

  it('whoami tells the root token from a device, and refuses no token or a wrong one', async () => {
    const device = await redeem(t, (await pair(t, '--name', 'who', '--watch-only')).code)
    const who = (token?: string) =>
      fetch(t.url + '/v1/whoami', token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    expect(await (await who(t.token)).json()).toEqual({ kind: 'root', scope: 'full' })
    expect(await (await who(device.token)).json()).toEqual({ kind: 'device', name: 'who', scope: 'watch' })
    expect((await who()).status).toBe(401)
    expect((await who('tdev_' + '0'.repeat(64))).status).toBe(403)
    expect((await fetch(t.url + '/v1/whoami', { method: 'POST', headers: { authorization: `Bearer ${t.token}` } })).status).toBe(405)
  })

  it('tabula devices lists name, scope, created and last seen', async () => {
    const { stdout } = await cli(t.home, 'devices')
    const row = stdout.split('\n').find((line) => line.startsWith('who '))!
    expect(row).toMatch(/^who\s+watch\s+\d{4}-\d\d-\d\dT\S+Z\s+\d{4}-\d\d-\d\dT\S+Z$/)
    const json = JSON.parse((await cli(t.home, 'devices', '--json')).stdout) as {
      devices: Array<{ name: string; lastSeen: number | null }>
    }
    expect(json.devices.find((d) => d.name === 'who')!.lastSeen).toBeGreaterThan(0)
    // The token is nowhere in the home.
    const device = await redeem(t, (await pair(t, '--name', 'secret')).code)
    for (const file of ['devices.json', 'devices-seen.json']) {
      expect(readFileSync(join(t.home, file), 'utf8')).not.toContain(device.token)
    }
  })

  it('a watch-only device reads over HTTP; every change is refused and nothing changes', async () => {
    const watcher = await redeem(t, (await pair(t, '--name', 'http-watch', '--watch-only')).code)
    const as = authedFetch(t.url, watcher.token)
    expect((await as('/v1/workspaces')).status).toBe(200)
    expect((await as(`/v1/workspaces/${workspace}/sessions`)).status).toBe(200)
    const before = await (await authedFetch(t.url, t.token)(`/v1/workspaces/${workspace}/sessions`)).json()
    const json = { 'content-type': 'application/json' }
    const refused = [
      await as(`/v1/workspaces/${workspace}/sessions`, { method: 'POST', headers: json, body: JSON.stringify(TEST_SHELL) }),
      await as(`/v1/workspaces/${workspace}/sessions/${key}`, { method: 'DELETE' }),
      await as('/v1/workspaces', { method: 'POST', headers: json, body: JSON.stringify({ path: '/tmp/elsewhere' }) }),
    ]
    for (const res of refused) {
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('can only watch')
    }
    const after = await (await authedFetch(t.url, t.token)(`/v1/workspaces/${workspace}/sessions`)).json()
    expect((after as { sessions: unknown[] }).sessions).toEqual((before as { sessions: unknown[] }).sessions)
  })

  it('a watch-only device attaches and sees output; its input, size and driving are refused', async () => {
    const watcher = await redeem(t, (await pair(t, '--name', 'live-watch', '--watch-only')).code)
    const owner = await RawViewer.open(t.url, t.token)
    const watch = await RawViewer.open(t.url, watcher.token)
    try {
      await owner.attach(1, key)
      await watch.attach(1, key)
      owner.send({ type: 'input', ch: 1, data: 'echo owner-$((40+2))\r' })
      await watch.waitForScreen(1, 'owner-42')

      const from = watch.mark
      watch.send({ type: 'input', ch: 1, data: 'echo watcher-typed\r' })
      watch.send({ type: 'resize', ch: 1, cols: 40, rows: 10 })
      watch.send({ type: 'set_active', ch: 1, active: true, cols: 40, rows: 10 })
      for (const type of ['input', 'resize', 'set_active']) {
        const refusal = await watch.next((f) => f.type === 'error' && f.message.includes(type), from)
        expect(refusal).toMatchObject({ code: 'forbidden', ch: 1 })
      }
      // The owner's screen moves on, and never shows the watcher's keys; the PTY keeps its size.
      owner.send({ type: 'input', ch: 1, data: 'echo after-$((1+1))\r' })
      await owner.waitForScreen(1, 'after-2')
      expect(await owner.screenText(1)).not.toContain('watcher-typed')
      const session = await getSession(t, workspace, key)
      expect([session!.cols, session!.rows]).toEqual([80, 24])
    } finally {
      owner.socket.close()
      watch.socket.close()
    }
  })

  it("the sync server refuses a watch-only device's layout change, tells it, and keeps its presence", async () => {
    const watcher = await redeem(t, (await pair(t, '--name', 'sync-watch', '--watch-only')).code)
    const warnings: string[] = []
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')))
    const ownerDoc = new Y.Doc()
    const owner = connectProvider(t.url, workspace, t.token, ownerDoc)
    const watchDoc = new Y.Doc()
    const watch = connectProvider(t.url, workspace, watcher.token, watchDoc)
    try {
      await Promise.all([synced(owner), synced(watch)])
      ownerDoc.getMap('meta').set('probe', 'from-owner')
      await until("the watcher receives the owner's edit", () => watchDoc.getMap('meta').get('probe') === 'from-owner')
      watch.awareness.setLocalStateField('viewer', { name: 'sync-watch', kind: 'phone' })
      await until("the owner sees the watcher's presence", () =>
        [...owner.awareness.getStates().values()].some((s) => (s.viewer as { name?: string } | undefined)?.name === 'sync-watch'),
      )

      watchDoc.getMap('meta').set('probe', 'from-watcher')
      await until('the watcher is told', () => warnings.some((w) => w.includes('can only watch')))
      // A fresh reader of the stored document sees the owner's value, not the watcher's.
      const checkDoc = new Y.Doc()
      const check = connectProvider(t.url, workspace, t.token, checkDoc)
      await synced(check)
      expect(checkDoc.getMap('meta').get('probe')).toBe('from-owner')
      expect(ownerDoc.getMap('meta').get('probe')).toBe('from-owner')
      check.destroy()
    } finally {
      warn.mockRestore()
      owner.destroy()
      watch.destroy()
    }
  })

  it('revoking a device closes its open sockets at once, and its token gets 403 from then on', async () => {
    const device = await redeem(t, (await pair(t, '--name', 'gone')).code)
    const viewer = await RawViewer.open(t.url, device.token)
    const sync = await tryUpgrade(t.url, `/sync/${workspace}`, {}, ['tabula.v1', `bearer.${device.token}`])
    expect(sync.status).toBe(101)
    expect((await authedFetch(t.url, device.token)('/v1/workspaces')).status).toBe(200)
    let closedAt = 0
    viewer.socket.once('close', () => (closedAt = Date.now()))

    await cli(t.home, 'devices', 'revoke', 'gone')
    const revokedAt = Date.now()
    await until("the revoked device's live socket closes", () => closedAt > 0)
    // The Done-when of this feature: within a second of `tabula devices revoke` returning.
    expect(closedAt - revokedAt).toBeLessThan(1000)
    const refused = await authedFetch(t.url, device.token)('/v1/workspaces')
    expect(refused.status).toBe(403)
    const upgrade = await tryUpgrade(t.url, '/v1/live', {}, ['tabula.v1', `bearer.${device.token}`])
    expect(upgrade.status).toBe(403)
    expect((await cli(t.home, 'devices')).stdout).not.toMatch(/^gone /m)
    await expect(cli(t.home, 'devices', 'revoke', 'gone')).rejects.toThrow(/no device named "gone"/)
  })
})

describe('listening beyond loopback', () => {
  it('prints one URL per interface address (never 0.0.0.0) and allows each as an origin', async () => {
    const t = await startTabula(['up', '--host', '0.0.0.0'])
    try {
      const port = new URL(t.url).port
      expect(t.url).toBe(`http://127.0.0.1:${port}`) // local tools keep using loopback
      const printed = [...(await bannerOf(t)).matchAll(/Open the viewer: (http:\/\/[^/]+)\//g)].map((m) => m[1]!)
      const addresses = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && a.family === 'IPv4' && !a.internal)
        .map((a) => a!.address)
      expect(printed).toEqual([...addresses.map((a) => `http://${a}:${port}`), `http://127.0.0.1:${port}`])
      expect(t.output()).not.toMatch(/\/\/0\.0\.0\.0/) // no URL a phone could not open
      expect(t.output()).toContain('REACHABLE FROM THE NETWORK')
      for (const origin of printed) {
        const res = await fetch(`${t.url}/v1/health`, { headers: { origin } })
        expect(res.status, origin).toBe(200)
      }
      const runtime = JSON.parse(readFileSync(join(t.home, 'runtime.json'), 'utf8')) as { urls: string[] }
      expect(runtime.urls).toEqual(printed)
    } finally {
      await t.stop()
      removeHome(t.home)
    }
  })
})

describe('TLS', () => {
  let certs: TestCertificates
  beforeAll(() => {
    certs = makeTestCertificates([PUBLIC])
  })
  afterAll(() => rmSync(certs.dir, { recursive: true, force: true }))

  function httpsGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { ca: readFileSync(certs.caCert), headers }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  it('serves https and wss on one port with --tls-cert/--tls-key, and says https everywhere', async () => {
    const t = await startTabula(['up', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--public-host', PUBLIC])
    try {
      const port = new URL(t.url).port
      expect(t.url).toBe(`https://127.0.0.1:${port}`)
      expect(await bannerOf(t)).toContain(`Open the viewer: https://${PUBLIC}:${port}/#token=`)
      expect(await httpsGet(`${t.url}/v1/health`)).toMatchObject({ status: 200 })
      expect((await httpsGet(`${t.url}/v1/workspaces`, { authorization: `Bearer ${t.token}` })).status).toBe(200)
      expect((await httpsGet(`${t.url}/v1/health`, { origin: `https://${PUBLIC}:${port}` })).status).toBe(200)
      expect((await httpsGet(`${t.url}/v1/health`, { origin: `http://${PUBLIC}:${port}` })).status).toBe(403)
      // The live channel over wss, trusting the test CA only.
      const viewer = await RawViewer.open(t.url, t.token, { ca: readFileSync(certs.caCert) })
      expect(viewer.viewerId).toMatch(/^v-/)
      viewer.socket.close()
      // Without the CA the certificate is not trusted: it really is TLS with that certificate.
      await expect(fetch(`${t.url}/v1/health`)).rejects.toThrow()
      const { stdout } = await cli(t.home, 'pair')
      expect(stdout).toContain(`https://${PUBLIC}:${port}/#pair=`)
    } finally {
      await t.stop()
      removeHome(t.home)
    }
  })

  it('refuses half a TLS setup or an unreadable file, saying which', async () => {
    const home = tempHome()
    try {
      await expect(
        run(process.execPath, [TABULA_BIN, 'up', '--port', '0', '--home', home, '--tls-cert', certs.serverCert]),
      ).rejects.toThrow(/--tls-cert and --tls-key go together/)
      await expect(
        run(process.execPath, [
          TABULA_BIN,
          'up',
          '--port',
          '0',
          '--home',
          home,
          '--tls-cert',
          '/nonexistent.pem',
          '--tls-key',
          certs.serverKey,
        ]),
      ).rejects.toThrow(/--tls-cert \/nonexistent.pem/)
      await expect(
        run(process.execPath, [
          TABULA_BIN,
          'up',
          '--port',
          '0',
          '--home',
          home,
          '--tls-cert',
          certs.serverKey,
          '--tls-key',
          certs.serverKey,
        ]),
      ).rejects.toThrow(/tls/i)
    } finally {
      removeHome(home)
    }
  })

  it('tabula pair without a running tabula up says so', async () => {
    const home = tempHome()
    try {
      await expect(run(process.execPath, [TABULA_BIN, 'pair', '--home', home])).rejects.toThrow(/no `tabula up` running/)
    } finally {
      removeHome(home)
    }
  })
})
