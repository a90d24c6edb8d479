/**
 * The server talks to its store only through the DocStore interface (docs/sync.md, "Replacing
 * the store"): an in-memory store passed as `createSyncServer({ store })` receives every load,
 * save and the final close, and nothing is written under the home. Also: a document whose last
 * write failed is unloaded once the store recovers, without anyone connecting again.
 */
import { until } from '../helpers/wait.js'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { readLayout, setTitle } from '@tabula/protocol'
import type { DocStore } from '@tabula/sync-server'
import { connectProvider, startLocalSync, synced, WORKSPACE, type LocalSync } from './helpers.js'

const KEY = 'tab-77777777-6666-4555-8444-333333333333'
/** Short, so unloading happens within the test. */
const GRACE_MS = 50

/** A DocStore kept in a Map, recording how the server used it; `failing` makes saves throw. */
class MemoryStore implements DocStore {
  readonly blobs = new Map<string, Uint8Array>()
  readonly calls: string[] = []
  failing = false
  failedSaves = 0
  closed = 0

  async load(name: string): Promise<Uint8Array | null> {
    this.calls.push(`load ${name}`)
    return this.blobs.get(name) ?? null
  }
  async save(name: string, state: Uint8Array): Promise<void> {
    if (this.failing) {
      this.failedSaves++
      throw new Error('ENOSPC: no space left on device (simulated)')
    }
    this.calls.push(`save ${name}`)
    this.blobs.set(name, state.slice())
  }
  async list(): Promise<string[]> {
    return [...this.blobs.keys()]
  }
  async close(): Promise<void> {
    this.closed++
  }
}

/** The title a stored state holds for KEY. */
function storedTitle(state: Uint8Array | undefined): string | null | undefined {
  if (!state) return undefined
  const doc = new Y.Doc()
  Y.applyUpdateV2(doc, state)
  return readLayout(doc).placements.get(KEY)?.title
}

/** Makes an edit through one viewer and waits until a second one has it (so the server applied it). */
async function editThroughServer(server: LocalSync, title: string): Promise<void> {
  const writer = connectProvider(server.url, WORKSPACE, server.token)
  const watcher = connectProvider(server.url, WORKSPACE, server.token)
  await Promise.all([synced(writer), synced(watcher)])
  setTitle(writer.doc, KEY, title)
  await until('the edit reached the other viewer', () => readLayout(watcher.doc).placements.get(KEY)?.title === title)
  writer.destroy()
  watcher.destroy()
}

describe('a DocStore passed to createSyncServer', () => {
  let server: LocalSync | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('is the only place documents are loaded from, saved to and closed', async () => {
    const store = new MemoryStore()
    server = await startLocalSync({ store, unloadGraceMs: GRACE_MS })
    await editThroughServer(server, 'in memory')
    await until('the document is unloaded', () => server!.sync.stats().loadedDocs === 0)

    expect(store.calls[0]).toBe(`load ${WORKSPACE}`)
    expect(store.calls).toContain(`save ${WORKSPACE}`)
    expect(await store.list()).toEqual([WORKSPACE])
    expect(storedTitle(store.blobs.get(WORKSPACE))).toBe('in memory')
    expect(existsSync(join(server.home, 'layouts'))).toBe(false) // the default store was never made

    // Loaded again from the store by the next viewer, and by another server on the same store.
    const reader = connectProvider(server.url, WORKSPACE, server.token)
    await synced(reader)
    expect(readLayout(reader.doc).placements.get(KEY)?.title).toBe('in memory')
    reader.destroy()
    expect(store.calls.filter((c) => c === `load ${WORKSPACE}`)).toHaveLength(2)

    await server.stop()
    server = undefined
    expect(store.closed).toBe(1)

    server = await startLocalSync({ store, unloadGraceMs: GRACE_MS })
    const again = connectProvider(server.url, WORKSPACE, server.token)
    await synced(again)
    expect(readLayout(again.doc).placements.get(KEY)?.title).toBe('in memory')
    again.destroy()
  })

  it('a document whose final write failed is unloaded once the store recovers, with nobody reconnecting', async () => {
    const store = new MemoryStore()
    server = await startLocalSync({ store, unloadGraceMs: GRACE_MS })
    store.failing = true
    await editThroughServer(server, 'written after the disk came back')
    // The unload's write fails: the document must stay loaded (nothing lost) ...
    await until('a save was attempted and failed', () => store.failedSaves > 0)
    expect(server.sync.stats().loadedDocs).toBe(1)
    expect(store.blobs.has(WORKSPACE)).toBe(false)
    // ... and once the store works again, it is written and unloaded without a new connection.
    store.failing = false
    await until('the document is unloaded after the store recovered', () => server!.sync.stats().loadedDocs === 0, 5_000)
    expect(server.sync.stats().connections).toBe(0)
    expect(storedTitle(store.blobs.get(WORKSPACE))).toBe('written after the disk came back')
  })
})
