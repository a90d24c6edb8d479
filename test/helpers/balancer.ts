/**
 * A TCP load balancer without affinity, as a deployment would put in front of sync instances:
 * each new connection goes to the next backend in turn, and a backend that refuses the
 * connection (its process is gone) is skipped for the next one. Clients are never told: the
 * stock provider reconnects to the same address and lands on a live instance.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TestBalancer {
  url: string
  /** Connections carried to each backend so far, by backend URL. */
  readonly carried: Map<string, number>
  close(): Promise<void>
}

export async function startBalancer(backends: string[]): Promise<TestBalancer> {
  const sockets = new Set<Socket>()
  const carried = new Map<string, number>()
  let next = 0

  function route(client: Socket, tries: number): void {
    if (tries >= backends.length) return void client.destroy()
    const target = backends[next++ % backends.length]!
    const { hostname, port } = new URL(target)
    const upstream = connect(Number(port), hostname)
    let connected = false
    upstream.once('connect', () => {
      connected = true
      carried.set(target, (carried.get(target) ?? 0) + 1)
      sockets.add(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    upstream.on('error', () => {
      if (!connected) route(client, tries + 1)
      else drop()
    })
    upstream.on('close', () => connected && drop())
    client.on('error', drop).on('close', () => connected && drop())
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client)
    route(client, 0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    carried,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
