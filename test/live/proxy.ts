/** A tiny TCP proxy whose connections a test can cut, to drop a viewer's socket from outside. */
import net from 'node:net'

export interface Proxy {
  url: string
  /** Destroys every proxied connection (both sides), as a network drop would. */
  cut(): void
  close(): Promise<void>
  readonly connections: number
}

export async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target)
  const live = new Set<net.Socket>()
  let total = 0
  const server = net.createServer((client) => {
    total++
    const upstream = net.connect(Number(port), hostname)
    live.add(client).add(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
      live.delete(client)
      live.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return total
    },
    cut() {
      for (const socket of live) socket.destroy()
      live.clear()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of live) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
