/**
 * Cuts WebSocket peers that have gone silent. Every interval each watched socket is pinged, and
 * one that has not been heard from (a pong or any message) since the previous ping is
 * terminated. A peer that vanished without closing (laptop lid shut, network gone) would
 * otherwise keep its viewer, its presence and its buffers until TCP gives up, hours later.
 */

/** What the keepalive needs of a socket (a `ws` WebSocket). */
export interface PingableSocket {
  ping(): void
  terminate(): void
  on(event: 'pong' | 'message' | 'close', listener: () => void): unknown
}

export interface Keepalive {
  /** Watches `socket` from now on (it counts as alive now) until it closes. */
  watch(socket: PingableSocket): void
  stop(): void
}

export function keepalive(intervalMs: number): Keepalive {
  const sockets = new Set<PingableSocket>()
  const heard = new WeakSet<PingableSocket>()
  const timer = setInterval(() => {
    for (const socket of sockets) {
      if (!heard.has(socket)) {
        sockets.delete(socket)
        socket.terminate()
        continue
      }
      heard.delete(socket)
      socket.ping()
    }
  }, intervalMs)
  timer.unref()
  return {
    watch(socket) {
      sockets.add(socket)
      heard.add(socket)
      const alive = () => void heard.add(socket)
      socket.on('pong', alive)
      socket.on('message', alive)
      socket.on('close', () => sockets.delete(socket))
    },
    stop: () => clearInterval(timer),
  }
}
