/**
 * Memory on a Redis-backed instance: a room lets go of everything (its subscription, its
 * presence) once the last connection has left and the grace has passed, and keeps no document
 * at all meanwhile; the connection checks of the default path hold unchanged.
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createLogger } from '@tabula/server-kit'
import { createRedisRooms } from '@tabula/sync-server'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { connectProvider, rawClient, startLocalSync, synced } from './helpers.js'

describe('sync on redis: unloading and bad input', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('a room is unloaded (unsubscribed) after its last connection leaves', async () => {
    const log = createLogger('redis-test', 'silent')
    const server = await startLocalSync({ rooms: await createRedisRooms(redis.url, log), unloadGraceMs: 50 })
    const probe = new Redis(redis.url)
    try {
      const workspace = randomUUID()
      const channel = `tabula:layout:{${workspace}}`
      const viewer = connectProvider(server.url, workspace, server.token)
      await synced(viewer)
      expect(server.sync.stats()).toMatchObject({ loadedDocs: 1, connections: 1 })
      expect(await probe.pubsub('NUMSUB', channel)).toEqual([channel, 1])
      viewer.destroy()
      await until('the room is unloaded', () => server.sync.stats().loadedDocs === 0)
      await until('and unsubscribed', async () => ((await probe.pubsub('NUMSUB', channel)) as [string, number])[1] === 0)
      // The home holds no document: the room lives in Redis only.
      const { existsSync } = await import('node:fs')
      expect(existsSync(`${server.home}/layouts`)).toBe(false)
    } finally {
      probe.disconnect()
      await server.stop()
    }
  })

  it('malformed messages are refused as on the default path, and nothing reaches redis', async () => {
    const log = createLogger('redis-test', 'silent')
    const server = await startLocalSync({ rooms: await createRedisRooms(redis.url, log) })
    const probe = new Redis(redis.url)
    try {
      const workspace = randomUUID()
      const { ws, closed } = await rawClient(server.url, workspace, server.token)
      // A sync update whose payload is not a Yjs update.
      ws.send(new Uint8Array([0, 2, 3, 0xff, 0xff, 0xff]))
      expect((await closed).code).toBe(1007)
      expect(await probe.exists(`tabula:layout:{${workspace}}:updates`)).toBe(0)
    } finally {
      probe.disconnect()
      await server.stop()
    }
  })

  it('an unreachable redis is a clear error at start', async () => {
    const log = createLogger('redis-test', 'silent')
    const gone = await startRedis()
    await gone.stop()
    await expect(createRedisRooms(gone.url, log)).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/0/)
  })
})
