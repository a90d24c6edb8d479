/**
 * The SDK's sync socket (client-sdk/src/sync-channel.ts) reconnects only on its own jittered
 * timer: no other retry (the stock provider has one of its own, 100 ms after a connection that
 * was up, unjittered) may bring a whole room back in the same instant. Checked against a real
 * sync server, with the connection cut in between by a proxy, counting every socket the channel
 * opens.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { SyncChannel } from '../../client-sdk/src/sync-channel.js'
import type { WebSocketConstructor } from '../../client-sdk/src/api.js'
import { startProxy, type TestProxy } from '../helpers/proxy.js'
import { startLocalSync, WORKSPACE, type LocalSync } from '../sync/helpers.js'

/** Longer than any test runs: "our timer has not fired yet". */
const OUR_TIMER_NEVER_MS = 60 * 60_000
/**
 * How long to watch for a retry that is not ours: past the silence check (30 s) and the stock
 * provider's longest retry (2.5 s), so any timer left armed by the close would have fired.
 */
const OTHER_RETRY_WINDOW_MS = 60_000

/** A WebSocket that counts how many the channel opened. */
function countingWebSocket(): { WebSocket: WebSocketConstructor; opened: () => number } {
  let opened = 0
  class Counting extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      opened++
    }
  }
  return { WebSocket: Counting as unknown as WebSocketConstructor, opened: () => opened }
}

describe('the SDK sync channel', () => {
  let server: LocalSync
  let proxy: TestProxy
  beforeAll(async () => {
    server = await startLocalSync()
    proxy = await startProxy(server.url)
  })
  afterAll(async () => {
    await proxy?.close()
    await server?.stop()
  })

  function open(reconnectDelay?: (attempt: number) => number) {
    const sockets = countingWebSocket()
    const channel = new SyncChannel(new Y.Doc(), {
      syncUrl: proxy.url,
      workspaceId: WORKSPACE,
      token: server.token,
      WebSocket: sockets.WebSocket,
      onStateChange: () => {},
      ...(reconnectDelay && { reconnectDelay }),
    })
    return { channel, opened: sockets.opened }
  }

  it('reconnects on nothing but its own timer: after the connection drops, nothing reconnects before it', async () => {
    const attempts: number[] = []
    const { channel, opened } = open((attempt) => {
      attempts.push(attempt)
      return OUR_TIMER_NEVER_MS
    })
    try {
      await until('the channel is online', () => channel.online)
      expect(opened()).toBe(1)
      // Timers scheduled from here on (any retry among them) are fake, so the window is moved
      // past rather than waited out.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
      try {
        proxy.drop()
        await until('the channel saw the close', () => !channel.connected)
        expect(attempts).toEqual([0]) // our jittered retry is scheduled ...
        await vi.advanceTimersByTimeAsync(OTHER_RETRY_WINDOW_MS)
        // ... and nothing else opened a socket meanwhile.
        expect(opened()).toBe(1)
        expect(channel.connected).toBe(false)
        expect(attempts).toEqual([0])
      } finally {
        vi.useRealTimers()
      }
    } finally {
      channel.close()
    }
  })

  it('reconnects on its own timer, and resyncs', async () => {
    const { channel, opened } = open(() => 0)
    try {
      await until('the channel is online', () => channel.online)
      proxy.drop()
      await until('the channel is back online through our timer', () => opened() === 2 && channel.online)
    } finally {
      channel.close()
    }
  })
})
