/**
 * The daemon's HTTP API against the real `tabula daemon` process with real PTYs (docs/daemon.md,
 * "HTTP API" and "Security").
 */
import { until } from '../helpers/wait.js'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { MAX_HTTP_BODY_BYTES, type ErrorBody, type Workspace } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { api, processGone, readPid, readText } from './support.js'

let daemon: RunningTabula
let http: ReturnType<typeof api>
let dir: string
let ws: Workspace

/** A web app on another origin, let in with --allow-origin (a trailing slash is normalised away). */
const ALLOWED_ORIGIN = 'https://app.example:8443'

beforeAll(async () => {
  daemon = await startTabula(['daemon', '--allow-origin', ALLOWED_ORIGIN + '/'])
  http = api(daemon)
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'tabula-ws-')))
  ws = await http.workspace(dir)
})

afterAll(async () => {
  await daemon?.stop()
  removeHome(daemon?.home ?? '')
  rmSync(dir, { recursive: true, force: true })
})

/** After every refusal the daemon must still answer normally. */
async function stillServing(): Promise<void> {
  const reply = await http.call('GET', '/v1/workspaces')
  expect(reply.status).toBe(200)
}

describe('health and workspaces', () => {
  it('answers /v1/health without a token', async () => {
    const res = await fetch(daemon.daemonUrl + '/v1/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, version: expect.any(String) })
  })

  it('finds or creates a workspace by path: 201 once, then 200 with the same id', async () => {
    const path = join(dir, 'project')
    mkdirSync(path)
    const first = await http.call('POST', '/v1/workspaces', { path, name: 'Project' })
    const again = await http.call('POST', '/v1/workspaces', { path: path + '/' })
    expect(first.status).toBe(201)
    expect(first.body).toEqual({ id: expect.any(String), path, name: 'Project' })
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(first.body.id)
    const list = await http.call('GET', '/v1/workspaces')
    expect(list.body.filter((w: Workspace) => w.path === path)).toHaveLength(1)
    expect((await http.call('GET', `/v1/workspaces/${first.body.id}`)).body).toEqual(first.body)
  })

  it('adopts a given uuid, and refuses a path that is not absolute', async () => {
    const id = '0b6f3f4e-8a34-4c1e-9d1a-7f3e2b1c4d5e'
    mkdirSync(join(dir, 'adopted'))
    const adopted = await http.call('POST', '/v1/workspaces', { path: join(dir, 'adopted'), id })
    expect(adopted.status).toBe(201)
    expect(adopted.body.id).toBe(id)
    const relative = await http.call('POST', '/v1/workspaces', { path: 'some/where' })
    expect(relative.status).toBe(400)
    expect(relative.body.error.message).toMatch(/absolute/)
  })
})

describe('find-or-spawn', () => {
  it('spawns a new tab-<uuid> terminal without a key, and returns it (200) instead of a second PTY', async () => {
    const first = await http.spawn(ws.id, { command: 'sleep', args: ['1000'] })
    expect(first.status).toBe(201)
    const session = first.body.session
    expect(session).toMatchObject({
      workspace: ws.id,
      kind: 'terminal',
      command: 'sleep',
      args: ['1000'],
      status: 'running',
      exitCode: null,
      cwd: dir,
      activeViewer: null,
    })
    expect(session.key).toMatch(/^tab-[0-9a-f-]{36}$/)

    const again = await http.spawn(ws.id, { key: session.key, command: 'sh' })
    expect(again.status).toBe(200)
    expect(again.body.session.pid).toBe(session.pid)
    const listed = (await http.sessions(ws.id)).sessions.filter((s) => s.key === session.key)
    expect(listed).toHaveLength(1)
    await http.close(ws.id, session.key)
  })

  it('answers racing spawns of one key with one PTY: one 201, the others 200', async () => {
    const replies = await Promise.all([1, 2, 3].map(() => http.spawn(ws.id, { key: 'hb-race', command: 'sleep', args: ['1000'] })))
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 201])
    expect(new Set(replies.map((r) => r.body.session.pid)).size).toBe(1)
    await http.close(ws.id, 'hb-race')
  })

  it('answers 409 for a key that lives in another workspace, and leaves that session alone', async () => {
    const other = await http.workspace(join(dir, 'other'))
    const held = await http.spawn(ws.id, { key: 'hb-taken', command: 'sleep', args: ['1000'] })
    expect(held.status).toBe(201)
    const reply = await http.spawn(other.id, { key: 'hb-taken', command: 'sleep', args: ['1000'] })
    expect(reply.status).toBe(409)
    expect(reply.body).toEqual({ error: { code: 'conflict', message: expect.stringContaining('hb-taken') } })
    expect((await http.sessions(other.id)).sessions).toEqual([])
    const still = (await http.sessions(ws.id)).sessions.find((s) => s.key === 'hb-taken')
    expect(still).toMatchObject({ pid: held.body.session.pid, status: 'running' })
    await http.close(ws.id, 'hb-taken')
  })

  it('derives the kind from the key', async () => {
    const keys = { [ws.id]: 'chat', 'hb-nightly.build_1': 'heartbeat', 'inbox-mail': 'inbox' }
    for (const [key, kind] of Object.entries(keys)) {
      const reply = await http.spawn(ws.id, { key, command: 'sleep', args: ['1000'] })
      expect(reply.status).toBe(201)
      expect(reply.body.session.kind).toBe(kind)
    }
    for (const key of Object.keys(keys)) expect((await http.close(ws.id, key)).status).toBe(200)
  })

  it('advances seq with every change to a key set', async () => {
    const before = (await http.sessions(ws.id)).seq
    const { body } = await http.spawn(ws.id, { command: 'sleep', args: ['1000'] })
    const afterSpawn = await http.sessions(ws.id)
    expect(afterSpawn.seq).toBeGreaterThan(before)
    expect(afterSpawn.sessions.map((s) => s.key)).toContain(body.session.key)
    await http.close(ws.id, body.session.key)
    const afterClose = await http.sessions(ws.id)
    expect(afterClose.seq).toBeGreaterThan(afterSpawn.seq)
    expect(afterClose.sessions.map((s) => s.key)).not.toContain(body.session.key)
  })

  it('runs in the workspace directory with the requested environment, and tells the program its key', async () => {
    const out = join(dir, 'env.txt')
    const { body } = await http.spawn(ws.id, {
      command: 'sh',
      args: ['-c', `echo "$(pwd) $GREETING $TABULA_SESSION_KEY" > ${out}`],
      env: { GREETING: 'hello' },
    })
    const line = await until('the program to write its file', () => readText(out))
    expect(line).toBe(`${dir} hello ${body.session.key}`)
  })
})

describe('close and exit', () => {
  it('ends the whole process group, grandchildren included, and removes the key', async () => {
    const pidFile = join(dir, 'grandchild.pid')
    const { body } = await http.spawn(ws.id, { command: 'sh', args: ['-c', `sleep 1000 & echo $! > ${pidFile}; wait`] })
    const grandchild = await until('the grandchild pid', () => readPid(pidFile))
    expect(processGone(grandchild)).toBe(false)

    const closed = await http.close(ws.id, body.session.key)
    expect(closed.status).toBe(200)
    expect(processGone(grandchild)).toBe(true)
    expect(processGone(body.session.pid)).toBe(true)
    expect((await http.sessions(ws.id)).sessions.map((s) => s.key)).not.toContain(body.session.key)
    expect((await http.close(ws.id, body.session.key)).status).toBe(404)
  })

  it('kills a process group that ignores SIGHUP once the grace is over', async () => {
    const pidFile = join(dir, 'stubborn.pid')
    const { body } = await http.spawn(ws.id, { command: 'sh', args: ['-c', `trap '' HUP; sleep 1000 & echo $! > ${pidFile}; wait`] })
    const grandchild = await until('the grandchild pid', () => readPid(pidFile))
    expect((await http.close(ws.id, body.session.key)).status).toBe(200)
    expect(processGone(grandchild)).toBe(true)
  })

  it('ends what an exited program left running in its group when the session is closed', async () => {
    const pidFile = join(dir, 'leftover.pid')
    const { body } = await http.spawn(ws.id, { command: 'sh', args: ['-c', `trap '' HUP; sleep 1000 & echo $! > ${pidFile}; exit 5`] })
    await until('the session to show its exit', async () =>
      (await http.sessions(ws.id)).sessions.find((s) => s.key === body.session.key && s.status === 'exited'),
    )
    const leftover = readPid(pidFile)!
    expect(processGone(leftover)).toBe(false)
    expect((await http.close(ws.id, body.session.key)).status).toBe(200)
    expect(processGone(leftover)).toBe(true)
  })

  it('keeps an exited session with its exit code until it is closed', async () => {
    const { body } = await http.spawn(ws.id, { key: 'hb-exits', command: 'sh', args: ['-c', 'exit 3'] })
    const exited = await until('the session to show its exit', async () =>
      (await http.sessions(ws.id)).sessions.find((s) => s.key === 'hb-exits' && s.status === 'exited'),
    )
    expect(exited.exitCode).toBe(3)
    expect(exited.pid).toBe(body.session.pid)
    // Spawning the key again finds the exited session; it is not restarted behind the user's back.
    expect((await http.spawn(ws.id, { key: 'hb-exits' })).status).toBe(200)
    expect((await http.close(ws.id, 'hb-exits')).status).toBe(200)
    expect((await http.sessions(ws.id)).sessions.map((s) => s.key)).not.toContain('hb-exits')
  })

  it('removes a closeOnExit session when its process exits', async () => {
    const { body } = await http.spawn(ws.id, { key: 'hb-once', command: 'sh', args: ['-c', 'exit 0'], closeOnExit: true })
    expect(body.session.key).toBe('hb-once')
    await until('the session to be removed', async () => !(await http.sessions(ws.id)).sessions.some((s) => s.key === 'hb-once'))
  })
})

describe('bad input is refused with a JSON error, and the daemon keeps serving', () => {
  const cases: Array<[string, () => Promise<{ status: number; body: any }>, number, string]> = [
    ['a key that is not canonical', () => http.spawn(ws.id, { key: 'tab-not-a-uuid' }), 400, 'invalid_key'],
    ['a chat key of another workspace', () => http.spawn(ws.id, { key: '0b6f3f4e-8a34-4c1e-9d1a-7f3e2b1c4d5f' }), 400, 'invalid_key'],
    ['malformed JSON', () => http.call('POST', `/v1/workspaces/${ws.id}/sessions`, '{"key": '), 400, 'invalid_json'],
    ['a field of the wrong type', () => http.spawn(ws.id, { cols: 'wide' }), 400, 'bad_request'],
    ['an unknown field', () => http.spawn(ws.id, { shell: 'zsh' }), 400, 'bad_request'],
    ['an oversized body', () => http.spawn(ws.id, { command: 'x'.repeat(MAX_HTTP_BODY_BYTES + 1) }), 413, 'payload_too_large'],
    ['a NUL byte in an argument', () => http.spawn(ws.id, { command: 'sh', args: ['-c', 'echo a\u0000b'] }), 400, 'bad_request'],
    ['an environment name with "="', () => http.spawn(ws.id, { command: 'sh', env: { 'A=B': 'c' } }), 400, 'bad_request'],
    ['an unknown workspace', () => http.spawn('6b1d2f0e-1111-4222-8333-944455556666', {}), 404, 'not_found'],
    ['a command that does not resolve', () => http.spawn(ws.id, { command: 'no-such-program-tabula' }), 400, 'bad_request'],
    ['a cwd that does not exist', () => http.spawn(ws.id, { cwd: join(dir, 'missing') }), 400, 'bad_request'],
    ['a cwd that is a file', () => http.spawn(ws.id, { cwd: join(dir, 'a-file') }), 400, 'bad_request'],
    ['a missing token', () => http.call('GET', '/v1/workspaces', undefined, { authorization: '' }), 401, 'unauthorized'],
    ['a wrong token', () => http.call('GET', '/v1/workspaces', undefined, { authorization: 'Bearer nope' }), 403, 'forbidden'],
    ['a foreign Origin', () => http.call('GET', '/v1/workspaces', undefined, { origin: 'https://evil.example' }), 403, 'forbidden_origin'],
    ['a wrong method', () => http.call('PUT', '/v1/workspaces'), 405, 'method_not_allowed'],
  ]

  beforeAll(() => writeFileSync(join(dir, 'a-file'), 'not a directory'))

  it.each(cases)('%s', async (_what, send, status, code) => {
    const before = (await http.sessions(ws.id)).sessions.length
    const reply = await send()
    expect(reply.status).toBe(status)
    expect(reply.body).toEqual({ error: { code, message: expect.any(String) } })
    expect(reply.body.error.message.length).toBeGreaterThan(10)
    expect((await http.sessions(ws.id)).sessions.length).toBe(before)
    await stillServing()
  })

  it('names the missing program in words a person understands', async () => {
    const reply = await http.call<ErrorBody>('POST', `/v1/workspaces/${ws.id}/sessions`, { command: 'no-such-program-tabula' })
    expect(reply.body.error.message).toBe('command "no-such-program-tabula" was not found on PATH')
  })

  it.each([
    ['without a token', () => [], {}, 401],
    ['with a wrong token', () => ['bearer.wrong'], {}, 403],
    ['from a foreign Origin, even with the right token', () => [`bearer.${daemon.token}`], { origin: 'https://evil.example' }, 403],
  ] as const)('refuses a WebSocket upgrade %s before upgrading', async (_what, bearer, headers, status) => {
    const socket = new WebSocket(daemon.daemonUrl.replace('http', 'ws') + '/v1/live', ['tabula.v1', ...bearer()], { headers })
    const refused = await new Promise<number>((resolve, reject) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      socket.once('open', () => reject(new Error('the upgrade was accepted')))
      socket.once('error', () => {})
    })
    socket.terminate()
    expect(refused).toBe(status)
    await stillServing()
  })
})

describe('--allow-origin: CORS for a web app on another origin', () => {
  it('answers a preflight (which carries no token) with 204 and what the real request may send', async () => {
    const res = await fetch(daemon.daemonUrl + `/v1/workspaces/${ws.id}/sessions`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    expect(res.headers.get('access-control-allow-headers')?.split(/,\s*/)).toEqual(
      expect.arrayContaining(['authorization', 'content-type']),
    )
    expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE']))
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/)
    expect(await res.text()).toBe('')
  })

  it('refuses a preflight from a foreign origin with 403', async () => {
    const res = await fetch(daemon.daemonUrl + '/v1/workspaces', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(((await res.json()) as ErrorBody).error.code).toBe('forbidden_origin')
  })

  it('lets the allowed origin read real answers, refusals included, and still wants the token', async () => {
    const ok = await http.call('GET', '/v1/workspaces', undefined, { origin: ALLOWED_ORIGIN })
    expect(ok.status).toBe(200)
    const res = await fetch(daemon.daemonUrl + '/v1/workspaces', {
      headers: { origin: ALLOWED_ORIGIN, authorization: `Bearer ${daemon.token}` },
    })
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/)
    await res.arrayBuffer()
    const noToken = await fetch(daemon.daemonUrl + '/v1/workspaces', { headers: { origin: ALLOWED_ORIGIN } })
    expect(noToken.status).toBe(401)
    expect(noToken.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    await noToken.arrayBuffer()
    // A request without Origin (not a browser) gets no CORS headers at all.
    const plain = await fetch(daemon.daemonUrl + '/v1/health')
    expect(plain.headers.get('access-control-allow-origin')).toBeNull()
    await plain.arrayBuffer()
  })

  it('upgrades a WebSocket from the allowed origin', async () => {
    const result = await upgrade(['tabula.v1', `bearer.${daemon.token}`], { origin: ALLOWED_ORIGIN })
    expect(result).toEqual({ status: 101, protocol: 'tabula.v1' })
  })
})

/** Opens a WebSocket to /v1/live; resolves to 101 and the selected subprotocol, or the refusal and its body. */
function upgrade(
  protocols: string[] | undefined,
  headers: Record<string, string>,
): Promise<{ status: number; protocol?: string; body?: unknown }> {
  const socket = new WebSocket(daemon.daemonUrl.replace('http', 'ws') + '/v1/live', protocols, { headers })
  return new Promise((resolve) => {
    socket.once('open', () => {
      resolve({ status: 101, protocol: socket.protocol })
      socket.terminate()
    })
    socket.once('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
        socket.terminate()
      })
    })
    // e.g. the server selected no subprotocol although some were offered: the client gives up.
    socket.once('error', (err) => resolve({ status: -1, body: err.message }))
  })
}

describe('WebSocket subprotocols', () => {
  it.each([
    ['only the bearer entry', [`bearer.TOKEN`], {}],
    ['another protocol, token in the header', ['chat'], { authorization: 'Bearer TOKEN' }],
  ])('refuses an offer without tabula.v1 (%s) with 400 before upgrading', async (_what, offered, headers) => {
    const fill = (v: string) => v.replace('TOKEN', daemon.token)
    const result = await upgrade(offered.map(fill), Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, fill(v)])))
    expect(result).toEqual({ status: 400, body: { error: { code: 'bad_request', message: expect.stringContaining('tabula.v1') } } })
    await stillServing()
  })

  it('accepts no offer at all from a client that sends the token as a header', async () => {
    expect(await upgrade(undefined, { authorization: `Bearer ${daemon.token}` })).toEqual({ status: 101, protocol: '' })
  })
})

describe('a request the HTTP parser cannot read', () => {
  it('is answered with 400 and a JSON reason, not a silent reset', async () => {
    const { port } = new URL(daemon.daemonUrl)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'))
      let text = ''
      socket.on('data', (d) => (text += d.toString()))
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    const [head, body] = answer.split('\r\n\r\n')
    expect(head).toMatch(/^HTTP\/1\.1 400 /)
    expect(head).toMatch(/\r\nConnection: close\r\n/i)
    expect(head).toMatch(/\r\nContent-Type: application\/json/i)
    expect(JSON.parse(body!)).toEqual({ error: { code: 'bad_request', message: expect.any(String) } })
    await stillServing()
  })
})
