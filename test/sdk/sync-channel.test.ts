/**
 * The SDK's sync socket (client-sdk/src/sync-channel.ts) reconnects only on its own jittered
 * timer. The stock provider also schedules a retry of its own on every close (100 ms after a
 * connection that was up, unjittered); the channel disarms it by clearing `shouldConnect` when
 * the socket closes. Checked against a real sync server, with the connection cut in between by
 * a proxy, counting every socket the provider opens.
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
 * How long to watch for a retry by the provider. Its first retry after a connection that was up
 * comes 100 ms after the close (y-websocket 3: 2^0 * 100 ms), so ten times that is ample.
 */
const PROVIDER_RETRY_WINDOW_MS = 1_000

/** A WebSocket that counts how many the provider opened. */
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

  it('leaves no reconnect to the provider: after the connection drops, nothing reconnects before our timer', async () => {
    const attempts: number[] = []
    const { channel, opened } = open((attempt) => {
      attempts.push(attempt)
      return OUR_TIMER_NEVER_MS
    })
    try {
      await until('the channel is online', () => channel.online)
      expect(opened()).toBe(1)
      // Timers scheduled from here on (the provider's retry among them) are fake, so the
      // window is moved past rather than waited out.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
      try {
        proxy.drop()
        await until('the channel saw the close', () => !channel.connected)
        expect(attempts).toEqual([0]) // our jittered retry is scheduled ...
        await vi.advanceTimersByTimeAsync(PROVIDER_RETRY_WINDOW_MS)
        // ... and the provider's own retry, due long ago, did nothing.
        expect(opened()).toBe(1)
        expect(channel.provider.ws).toBeNull()
        expect(channel.provider.shouldConnect).toBe(false)
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
