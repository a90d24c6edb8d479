import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { DEFAULT_GROUP, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { connectProvider, startLocalSync, synced, WORKSPACE, type LocalSync } from './helpers.js'

const KEY = 'tab-11111111-2222-4333-8444-555555555555'
/** A short grace, so the tests can wait out several of them. */
const GRACE_MS = 50
/** How many graces to wait while one viewer stays: more than one, so a stray unload would have fired. */
const GRACES_TO_WAIT = 3

describe('a document with no connection', () => {
  let server: LocalSync
  beforeAll(async () => {
    server = await startLocalSync({ unloadGraceMs: GRACE_MS })
  })
  afterAll(() => server?.stop())

  it('is written, unloaded after the grace, and reloads intact', async () => {
    const a = connectProvider(server.url, WORKSPACE, server.token)
    await synced(a)
    placeTab(a.doc, KEY, DEFAULT_GROUP, null, null)
    setTitle(a.doc, KEY, 'kept')
    await until('the document is loaded', () => server.sync.stats().loadedDocs === 1)
    const before = readLayout(a.doc).placements.get(KEY)
    a.destroy()
    await until('the document is unloaded', () => server.sync.stats().loadedDocs === 0)

    const b = connectProvider(server.url, WORKSPACE, server.token)
    await synced(b)
    expect(server.sync.stats().loadedDocs).toBe(1)
    expect(readLayout(b.doc).placements.get(KEY)).toEqual(before)
    b.destroy()
  })

  it('stays loaded while any viewer is connected', async () => {
    const a = connectProvider(server.url, WORKSPACE, server.token)
    const b = connectProvider(server.url, WORKSPACE, server.token)
    await Promise.all([synced(a), synced(b)])
    // The server's timers from here on are fake: any unload that a's leaving schedules fires
    // when the clock is moved on, without the test waiting for it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    try {
      a.destroy()
      await until('one connection left', () => server.sync.stats().connections === 1)
      // Several graces with b still connected: an unload scheduled by a's leaving would have
      // happened by now, so the document must still be loaded before anyone else arrives.
      await vi.advanceTimersByTimeAsync(GRACE_MS * GRACES_TO_WAIT)
      expect(server.sync.stats().loadedDocs).toBe(1)
    } finally {
      vi.useRealTimers()
    }
    // b is still there: a new edit of b's flows through the same loaded document to a newcomer.
    setTitle(b.doc, KEY, 'edited while a was gone')
    const c = connectProvider(server.url, WORKSPACE, server.token)
    await synced(c)
    await until('c sees b’s new edit', () => readLayout(c.doc).placements.get(KEY)?.title === 'edited while a was gone')
    expect(server.sync.stats().loadedDocs).toBe(1)
    b.destroy()
    c.destroy()
  })
})
