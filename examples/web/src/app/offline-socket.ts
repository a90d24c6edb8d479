/**
 * A WebSocket that follows the browser's own idea of being online. When the device goes offline
 * (airplane mode, lost Wi-Fi, or DevTools' "offline"), an open socket can linger for minutes
 * before TCP notices, and Chromium's offline emulation never closes one at all. Closing our
 * sockets on the `offline` event makes the SDK see the truth at once: the stale banner shows,
 * edits queue as offline edits, and the SDK's own backoff reconnects after `online`.
 */
export function offlineAwareWebSocket(Base: typeof WebSocket = WebSocket): typeof WebSocket {
  const open = new Set<WebSocket>()
  addEventListener('offline', () => {
    for (const socket of open) socket.close(4001, 'browser offline')
  })
  return class OfflineAwareWebSocket extends Base {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      open.add(this)
      this.addEventListener('close', () => open.delete(this))
      // Do not even try while offline: fail fast so the SDK keeps its offline state.
      if (!navigator.onLine) this.close(4001, 'browser offline')
    }
  }
}
