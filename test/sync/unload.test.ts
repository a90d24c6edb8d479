import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_GROUP, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { connectProvider, eventually, startLocalSync, synced, WORKSPACE, type LocalSync } from './helpers.js'

const KEY = 'tab-11111111-2222-4333-8444-555555555555'

describe('a document with no connection', () => {
  let server: LocalSync
  beforeAll(async () => {
    server = await startLocalSync({ unloadGraceMs: 50 })
  })
  afterAll(() => server?.stop())

  it('is written, unloaded after the grace, and reloads intact', async () => {
    const a = connectProvider(server.url, WORKSPACE, server.token)
    await synced(a)
    placeTab(a.doc, KEY, DEFAULT_GROUP, null, null)
    setTitle(a.doc, KEY, 'kept')
    await eventually(() => server.sync.stats().loadedDocs === 1, 'the document is loaded')
    const before = readLayout(a.doc).placements.get(KEY)
    a.destroy()
    await eventually(() => server.sync.stats().loadedDocs === 0, 'the document is unloaded')

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
    a.destroy()
    await eventually(() => server.sync.stats().connections === 1, 'one connection left')
    // b is still there: edits keep flowing through the same loaded document.
    placeTab(b.doc, KEY, DEFAULT_GROUP, null, null)
    const c = connectProvider(server.url, WORKSPACE, server.token)
    await synced(c)
    expect(readLayout(c.doc).placements.get(KEY)?.title).toBe('kept')
    expect(server.sync.stats().loadedDocs).toBe(1)
    b.destroy()
    c.destroy()
  })
})
