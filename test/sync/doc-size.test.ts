/**
 * The in-process room's size bound (sync-server/src/doc-size.ts, docs/sync.md "Bounds") holds
 * while a write is slow: updates applied during a save count toward the bound after the save
 * returns. The store is the real lowdb one on disk, with its saves held at a gate, as a disk busy
 * with other work holds an fsync.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MAX_LAYOUT_DOC_BYTES } from '@tabula/protocol'
import { createLogger } from '@tabula/server-kit'
import { createLowdbStore, type DocStore } from '../../sync-server/src/store.js'
import { Room, type Peer } from '../../sync-server/src/room.js'
import { CLOSE_TOO_BIG } from '../../sync-server/src/doc-size.js'

const CHUNK = 1024 * 1024
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The lowdb store, each save waiting until `open()` is called. */
function slowStore(): DocStore & { open(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-doc-size-'))
  dirs.push(dir)
  const store = createLowdbStore(dir)
  let openGate = () => {}
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  return {
    ...store,
    async save(name, state) {
      await gate
      await store.save(name, state)
    },
    open: () => openGate(),
  }
}

/** A writer's replica, producing one update per chunk pushed. */
function writer(): { next(fill: string): Uint8Array } {
  const doc = new Y.Doc()
  return {
    next(fill) {
      let update: Uint8Array | null = null
      doc.once('update', (u: Uint8Array) => (update = u))
      doc.getArray<string>('notes').push([fill.repeat(CHUNK)])
      return update!
    },
  }
}

it('updates applied while a save is in flight still count toward the bound once it returns', async () => {
  const store = slowStore()
  const room = new Room('b16f79b5-3c2e-4b8a-9d41-7e2f0c6a1d55', store, createLogger('doc-size-test', 'silent'))
  await room.ready
  let closedWith: number | null = null
  const peer: Peer = { send() {}, close: (code) => void (closedWith ??= code) }
  room.attach(peer)
  const w = writer()

  // A save starts with one chunk in the document and is held; more arrive meanwhile.
  expect(room.receive(peer, { type: 'sync-update', update: w.next('a') })).toBe(true)
  const saving = room.flush()
  await new Promise((resolve) => setImmediate(resolve)) // the state is encoded and the save waits at the gate
  const during = Math.floor(MAX_LAYOUT_DOC_BYTES / CHUNK) - 3
  for (let i = 0; i < during; i++) room.receive(peer, { type: 'sync-update', update: w.next('b') })
  store.open()
  await saving

  // Past the bound now: however many more come, the document stays within it.
  for (let i = 0; i < 8 && closedWith === null; i++) room.receive(peer, { type: 'sync-update', update: w.next('c') })
  expect(closedWith).toBe(CLOSE_TOO_BIG)
  expect(Y.encodeStateAsUpdateV2(room.doc).length).toBeLessThanOrEqual(MAX_LAYOUT_DOC_BYTES)
  await room.close()
})
