/**
 * The HTTP timeouts of the shared host (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS,
 * docs/daemon.md "Bounds"), with real sockets and small bounds: a client that sends its headers
 * slowly, or never finishes its body, is answered 408 and cut; one that is merely slow within
 * the bounds is served.
 */
import { afterEach, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import { createLogger, startHost, type Host } from '@tabula/server-kit'

const HEADERS_MS = 800
const REQUEST_MS = 1_600
const TOKEN = 'timeouts-test-token'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo()
})

/** A host whose one component reads a POST body whole and answers with its length. */
async function host(): Promise<Host> {
  const h = await startHost({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    timeouts: { headersMs: HEADERS_MS, requestMs: REQUEST_MS },
    log: createLogger('test', 'silent'),
    components: [
      {
        name: 'echo',
        handleRequest(req, res) {
          let size = 0
          req.on('data', (chunk: Buffer) => (size += chunk.length))
          req.on('end', () => res.end(`read ${size}`))
          return true
        },
        close: async () => {},
      },
    ],
  })
  cleanup.push(() => h.close())
  return h
}

/** A raw client: what it received, and when the server closed it (ms after it connected). */
async function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1')
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const start = performance.now()
  let received = ''
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
  socket.on('error', () => {})
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - start)))
  cleanup.push(() => socket.destroy())
  return { socket, closed, received: () => received }
}

/** Writes `text` a piece every `everyMs` until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let at = 0
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer)
    socket.write(text.slice(at, ++at))
  }, everyMs)
  cleanup.push(() => clearInterval(timer))
}

it('headers sent slowly: answered 408 with a reason, then cut, once the headers bound has passed', async () => {
  const h = await host()
  const c = await client(h.port)
  c.socket.write('GET /anything HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  trickle(c.socket, 'X-Slow: ' + 'a'.repeat(10_000), 50) // a header that never ends
  const after = await c.closed
  expect(after).toBeGreaterThanOrEqual(HEADERS_MS - 50)
  expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
  expect(c.received()).toMatch(/connection: close/i)
  expect(c.received()).toMatch(/"code":"request_timeout".*headers must arrive within 0\.8 s/)
}, 15_000)

it('a body never finished: answered 408 and cut once the request bound has passed', async () => {
  const h = await host()
  const c = await client(h.port)
  c.socket.write(`POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100000\r\n\r\nstart`)
  trickle(c.socket, 'b'.repeat(10_000), 50) // alive, but far too slow to finish
  const after = await c.closed
  expect(after).toBeGreaterThanOrEqual(REQUEST_MS - 50)
  expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
  expect(c.received()).toMatch(/"code":"request_timeout"/)
}, 15_000)

it('a request slow but within the bounds is served, and its connection stays usable', async () => {
  const h = await host()
  const c = await client(h.port)
  c.socket.write(`POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 6\r\n\r\nab`)
  // The client's own pace (what is tested), not a wait for the server: the bounds are Node's
  // http timers, checked against its own clock, which fake timers do not reach.
  await new Promise((resolve) => setTimeout(resolve, HEADERS_MS / 2))
  c.socket.write('cdef')
  await expect.poll(() => c.received(), { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*read 6$/)
  c.socket.write(`POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1\r\n\r\nz`)
  await expect.poll(() => c.received(), { timeout: 5_000 }).toMatch(/read 1$/)
  expect(c.socket.destroyed).toBe(false)
}, 15_000)
