/**
 * The keepalive both servers use (server-kit/src/keepalive.ts), with real sockets: a peer
 * that stops answering pings is cut; one that answers, or keeps talking, stays.
 */
import { afterEach, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { keepalive } from '@tabula/server-kit'

/** Long enough that a busy test machine never misses a pong within it. */
const INTERVAL_MS = 500

const cleanup: Array<() => void> = []
afterEach(() => {
  for (const undo of cleanup.splice(0)) undo()
})

async function server() {
  const ka = keepalive(INTERVAL_MS)
  const wss = new WebSocketServer({ port: 0 })
  wss.on('connection', (socket) => ka.watch(socket))
  await new Promise((resolve) => wss.once('listening', resolve))
  cleanup.push(() => {
    ka.stop()
    wss.close()
  })
  const port = (wss.address() as { port: number }).port
  const connect = async (options: { autoPong?: boolean } = {}) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}`, options)
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))
    cleanup.push(() => client.terminate())
    return client
  }
  return { connect, stop: () => ka.stop() }
}

it('cuts a peer that stops answering pings, and keeps those that answer or keep talking', async () => {
  const { connect } = await server()
  const answering = await connect()
  const silent = await connect({ autoPong: false })
  const talking = await connect({ autoPong: false })
  const chatter = setInterval(() => talking.send('still here'), INTERVAL_MS / 4)
  cleanup.push(() => clearInterval(chatter))

  const code = await new Promise<number>((resolve) => silent.once('close', resolve))
  expect(code).toBe(1006) // terminated, not closed politely: the peer is assumed gone
  // A full interval more: the others were pinged again meanwhile and are still there.
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 1.5))
  expect(answering.readyState).toBe(WebSocket.OPEN)
  expect(talking.readyState).toBe(WebSocket.OPEN)
})

it('cuts nobody once stopped (a server shutting down closes its sockets itself)', async () => {
  const { connect, stop } = await server()
  const silent = await connect({ autoPong: false })
  stop()
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 2.5))
  expect(silent.readyState).toBe(WebSocket.OPEN)
})
