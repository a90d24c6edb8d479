/**
 * A TCP proxy a test can cut, to take a viewer off the network from outside: the code under test
 * is never told, it only sees its sockets die and its reconnects fail, then succeed.
 *   drop()  destroys every carried connection once (a blip; reconnects go through at once)
 *   cut()   drops and refuses new connections until heal() (a dropped Wi-Fi)
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'

export interface TestProxy {
  /** http://127.0.0.1:PORT, to hand over instead of the real address. */
  url: string
  /** Connections accepted so far. */
  readonly connections: number
  drop(): void
  cut(): void
  heal(): void
  close(): Promise<void>
}

export async function startProxy(target: string): Promise<TestProxy> {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  let isCut = false
  let accepted = 0
  const server = createServer((client) => {
    if (isCut) return void client.destroy()
    accepted++
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
  const dropAll = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return accepted
    },
    drop: dropAll,
    cut() {
      isCut = true
      dropAll()
    },
    heal() {
      isCut = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll()
        server.close(() => resolve())
      }),
  }
}
