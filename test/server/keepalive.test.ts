/**
 * The keepalive both servers use (server-kit/src/keepalive.ts), with real sockets: a peer
 * that stops answering pings is cut; one that answers, or keeps talking, stays. The keepalive's
 * interval is a fake timer, moved on one interval at a time; between two, the test waits for
 * what the peers really sent (a pong, a message) to reach the server.
 */
import { once } from 'node:events'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { keepalive } from '@tabula/server-kit'

/** Any figure will do: the interval is moved on by hand, never waited out. */
const INTERVAL_MS = 30_000

const cleanup: Array<() => void> = []
beforeEach(() => {
  // Only the interval: the sockets' own timers stay real.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
})
afterEach(() => {
  for (const undo of cleanup.splice(0)) undo()
  vi.useRealTimers()
})

async function server() {
  const ka = keepalive(INTERVAL_MS)
  const wss = new WebSocketServer({ port: 0 })
  const accepted: WebSocket[] = []
  wss.on('connection', (socket) => {
    ka.watch(socket)
    accepted.push(socket)
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  cleanup.push(() => {
    ka.stop()
    wss.close()
  })
  const port = (wss.address() as { port: number }).port
  /** A client, and its socket on the server's side (accepted before the client sees `open`). */
  const connect = async (options: { autoPong?: boolean } = {}) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}`, options)
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))
    cleanup.push(() => client.terminate())
    return { client, peer: accepted.at(-1)! }
  }
  return { connect, stop: () => ka.stop() }
}

it('cuts a peer that stops answering pings, and keeps those that answer or keep talking', async () => {
  const { connect } = await server()
  const answering = await connect()
  const silent = await connect({ autoPong: false })
  const talking = await connect({ autoPong: false })
  const silentClosed = once(silent.client, 'close')

  for (let interval = 1; interval <= 3; interval++) {
    const pong = once(answering.peer, 'pong')
    const message = once(talking.peer, 'message')
    vi.advanceTimersByTime(INTERVAL_MS)
    // Heard from at the start, the silent peer is pinged at the first interval, and cut at the
    // second: terminated, not closed politely (the peer is assumed gone).
    expect(silent.peer.readyState === WebSocket.OPEN, `open after interval ${interval}`).toBe(interval === 1)
    // The others were pinged at every interval; they are heard from before the next.
    expect(answering.peer.readyState).toBe(WebSocket.OPEN)
    expect(talking.peer.readyState).toBe(WebSocket.OPEN)
    talking.client.send('still here')
    await Promise.all([pong, message])
  }
  const [code] = await silentClosed
  expect(code).toBe(1006)
  expect(answering.client.readyState).toBe(WebSocket.OPEN)
  expect(talking.client.readyState).toBe(WebSocket.OPEN)
})

it('cuts nobody once stopped (a server shutting down closes its sockets itself)', async () => {
  const { connect, stop } = await server()
  const silent = await connect({ autoPong: false })
  stop()
  // Running, it would ping at the first interval and cut at the second.
  vi.advanceTimersByTime(3 * INTERVAL_MS)
  expect(silent.peer.readyState).toBe(WebSocket.OPEN)
  expect(silent.client.readyState).toBe(WebSocket.OPEN)
})
