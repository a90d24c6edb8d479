/**
 * Bounds on what live-channel clients control (protocol/src/limits.ts, docs/protocol.md
 * "Bounds"): attachments per socket, sockets per daemon, everything queued for a viewer that does
 * not read, and sessions per daemon. Real daemon, real sockets.
 */
import { until } from '../helpers/wait.js'
import WebSocket from 'ws'
import { beforeAll, expect, it } from 'vitest'
import {
  MAX_ATTACHMENTS_PER_SOCKET,
  MAX_LIVE_SOCKETS,
  MAX_SESSIONS,
  MAX_VIEWER_QUEUED_BYTES,
  wsProtocols,
  type ServerFrame,
} from '@tabula/protocol'
import { authedFetch, type RunningTabula } from '../helpers/tabula.js'
import { readFileSync } from 'node:fs'
import { CLOSE_TOO_SLOW } from '../../daemon/src/live/viewer.js'
import { RawViewer, closeSession, liveUrlOf, makeWorkspace, spawnSession, sharedDaemon } from './helpers.js'

const FIN_WAIT1 = '04'

/** The TCP state (hex, as /proc/net/tcp writes it) of the daemon's end of the connection from `port`. */
function peerTcpState(port: number): string | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields[2]?.endsWith(`:${hex}`)) return fields[3]
    }
  }
  return undefined
}

const shared = sharedDaemon()
const viewers = shared.viewers
let t: RunningTabula
beforeAll(() => void (t = shared.t))

async function viewer(): Promise<RawViewer> {
  const v = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(v)
  return v
}

it(`a socket may attach ${MAX_ATTACHMENTS_PER_SOCKET} terminals; the next attach gets limit_reached`, async () => {
  const workspace = await makeWorkspace(t)
  const session = await spawnSession(t, workspace, { command: 'sleep', args: ['1000'] })
  const v = await viewer()
  for (let ch = 1; ch <= MAX_ATTACHMENTS_PER_SOCKET; ch++) v.send({ type: 'attach', ch, key: session.key })
  await v.next((f) => f.type === 'attached' && f.ch === MAX_ATTACHMENTS_PER_SOCKET)
  const from = v.mark
  v.send({ type: 'attach', ch: 1000, key: session.key })
  const refused = await v.next<ServerFrame & { type: 'error' }>((f) => f.type === 'error', from)
  expect(refused).toMatchObject({ code: 'limit_reached', ch: 1000, message: expect.stringMatching(/detach one first/) })
  // Detaching makes room again.
  v.send({ type: 'detach', ch: 1 })
  await v.attach(1001, session.key)
  v.close()
})

it(`the daemon serves ${MAX_LIVE_SOCKETS} live sockets; the next upgrade gets 503 with a reason, and room comes back`, async () => {
  const open: WebSocket[] = []
  const connect = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(liveUrlOf(t.daemonUrl), wsProtocols(t.token), { perMessageDeflate: false })
      ws.once('open', () => resolve(ws))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d))
        res.on('end', () => reject(Object.assign(new Error(body), { status: res.statusCode, body })))
      })
      ws.once('error', reject)
    })
  try {
    // Other tests' viewers may still be closing: connect until refused, then count.
    let refused: { status?: number; body?: string } | null = null
    while (!refused && open.length <= MAX_LIVE_SOCKETS) {
      refused = await connect().then(
        (ws) => {
          open.push(ws)
          return null
        },
        (err: { status?: number; body?: string }) => err,
      )
    }
    expect(refused, String(refused)).toMatchObject({ status: 503 })
    expect(open.length).toBeGreaterThanOrEqual(MAX_LIVE_SOCKETS - viewers.length)
    expect(JSON.parse(refused!.body!)).toEqual({
      error: { code: 'unavailable', message: expect.stringMatching(/already serves 256 live sockets/) },
    })
    // HTTP still answers while the sockets are full.
    expect((await fetch(`${t.daemonUrl}/v1/health`)).status).toBe(200)
    const last = open.pop()!
    await new Promise<void>((resolve) => {
      last.once('close', () => resolve())
      last.close()
    })
    // The daemon sees the close on one of its next turns: room comes back once it has.
    open.push(await until('a free live socket after one closed', () => connect().catch(() => undefined)))
  } finally {
    for (const ws of open) ws.terminate()
  }
})

it(`a viewer that stops reading while snapshots pile up is cut past ${MAX_VIEWER_QUEUED_BYTES} bytes queued, its connection ended`, async () => {
  const workspace = await makeWorkspace(t)
  // A full scrollback (5,000 lines) of 199 random characters each: a snapshot of about 1 MB.
  const session = await spawnSession(t, workspace, {
    command: 'sh',
    args: ['-c', 'head -c 800000 /dev/urandom | base64 -w 199; echo filled; exec sleep 1000'],
    cols: 200,
    rows: 50,
  })
  const reader = await viewer()
  await reader.attach(1, session.key)
  await reader.waitForScreen(1, 'filled')
  const snapshotBytes = Buffer.byteLength((await reader.attach(3, session.key)).snapshot)
  expect(snapshotBytes).toBeGreaterThan(900_000)

  // A bare socket (nothing parses what it gets), which stops reading at the TCP level.
  const stalled = new WebSocket(liveUrlOf(t.daemonUrl), wsProtocols(t.token), { perMessageDeflate: false })
  await new Promise((resolve, reject) => stalled.once('open', resolve).once('error', reject))
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    stalled.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  const tcp = (stalled as unknown as { _socket: { pause(): void; resume(): void } })._socket
  tcp.pause()
  // Loopback's kernel buffers take some 10 MB before anything stays queued in the daemon: ask
  // for the bound plus 24 MiB of snapshots (41 MB, below the 64 MiB a viewer could queue before).
  const attaches = Math.min(MAX_ATTACHMENTS_PER_SOCKET, Math.ceil((MAX_VIEWER_QUEUED_BYTES + 24 * 2 ** 20) / snapshotBytes))
  for (let ch = 1; ch <= attaches; ch++) stalled.send(JSON.stringify({ type: 'attach', ch, key: session.key }))
  // The daemon ends the connection of a viewer that does not read: its side of the connection
  // is in FIN_WAIT1 (its FIN waits behind the data the client has not read), with no help from
  // the client, which still reads nothing.
  const port = (stalled as unknown as { _socket: { localPort: number } })._socket.localPort
  await until('the daemon to end the connection', () => peerTcpState(port) === FIN_WAIT1, 45_000)
  tcp.resume()
  const { code } = await closed
  expect([CLOSE_TOO_SLOW, 1006]).toContain(code) // 1006 when the close frame did not fit in what the kernel held
  await closeSession(t, workspace, session.key)
}, 60_000)

it(`the daemon runs ${MAX_SESSIONS} sessions; the next spawn gets 429 with a reason`, async () => {
  const workspace = await makeWorkspace(t)
  const api = authedFetch(t.daemonUrl, t.token)
  const list = await (await api(`/v1/workspaces/${workspace}/sessions`)).json()
  expect(list.sessions).toEqual([])
  const running = await Promise.all(
    (await (await api('/v1/workspaces')).json()).map(
      async (w: { id: string }) => (await (await api(`/v1/workspaces/${w.id}/sessions`)).json()).sessions.length,
    ),
  )
  const keys: string[] = []
  for (let i = running.reduce((a: number, b: number) => a + b, 0); i < MAX_SESSIONS; i++) {
    keys.push((await spawnSession(t, workspace, { command: 'sleep', args: ['1000'] })).key)
  }
  const res = await api(`/v1/workspaces/${workspace}/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'sleep', args: ['1000'] }),
  })
  expect(res.status).toBe(429)
  expect(await res.json()).toEqual({ error: { code: 'limit_reached', message: expect.stringMatching(/already runs 256 sessions/) } })
  expect(await closeSession(t, workspace, keys[0]!)).toBe(200)
  await spawnSession(t, workspace, { command: 'sleep', args: ['1000'] })
}, 120_000)
