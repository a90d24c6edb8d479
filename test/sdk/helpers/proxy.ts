/**
 * A TCP proxy that a test can cut: while cut, it destroys every connection it carries and
 * refuses new ones, as a dropped Wi-Fi would. The SDK under test is never told; it only sees
 * its sockets die and its reconnects fail, then succeed once the proxy heals.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface CuttableProxy {
  /** http://127.0.0.1:PORT, to hand to the SDK instead of the real address. */
  url: string
  cut(): void
  heal(): void
  close(): Promise<void>
}

export async function startProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  let isCut = false
  const server: Server = createServer((client) => {
    if (isCut) return void client.destroy()
    const upstream = connect(Number(port), hostname)
    sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy did not bind')
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      isCut = true
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    },
    heal() {
      isCut = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
