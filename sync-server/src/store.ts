/**
 * Where layout documents rest. The server talks to a DocStore only, so another engine (SQLite,
 * LevelDB, a cloud bucket) can replace the default without touching the protocol code.
 *
 * The contract is deliberately small: the server batches updates itself and hands the store the
 * whole merged state of a document (a Yjs update, encoding v2) to keep. Storing the merged state
 * rather than a log of updates is the compaction: a document that saw ten thousand reorders is
 * stored as its current state, not as ten thousand edits.
 */
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Low } from 'lowdb'
import { DurableJsonFile } from './durable-file.js'

export interface DocStore {
  /** The saved state (Yjs update, v2), or null when the document was never saved. */
  load(name: string): Promise<Uint8Array | null>
  /** Replaces the saved state atomically: after a crash the old state or the new one is there, never a mix. */
  save(name: string, state: Uint8Array): Promise<void>
  /** Names of every saved document. */
  list(): Promise<string[]>
  /** Releases whatever the store holds open. Saves already returned are on disk. */
  close(): Promise<void>
}

/** The record lowdb keeps per document, one file each (so saving one never rewrites the others). */
export interface StoredDoc {
  format: 'tabula-layout'
  /** How `state` is encoded: a Yjs update in encoding v2, in base64 (JSON has no bytes). */
  encoding: 'yjs-update-v2+base64'
  state: string
  savedAt: string
}

/** A DocStore of lowdb JSON files under `dir`, named `<name>.json`. */
export function createLowdbStore(dir: string): DocStore {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const fileOf = (name: string) => {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new Error(`not a document name: ${name}`)
    return join(dir, `${name}.json`)
  }
  return {
    async load(name) {
      const db = new Low<StoredDoc | null>(new DurableJsonFile<StoredDoc | null>(fileOf(name)), null)
      await db.read()
      if (db.data === null) return null
      if (db.data.format !== 'tabula-layout' || db.data.encoding !== 'yjs-update-v2+base64' || typeof db.data.state !== 'string') {
        throw new Error(`${fileOf(name)} is not a tabula layout document`)
      }
      return new Uint8Array(Buffer.from(db.data.state, 'base64'))
    },
    async save(name, state) {
      const record: StoredDoc = {
        format: 'tabula-layout',
        encoding: 'yjs-update-v2+base64',
        state: Buffer.from(state.buffer, state.byteOffset, state.byteLength).toString('base64'),
        savedAt: new Date().toISOString(),
      }
      const db = new Low<StoredDoc | null>(new DurableJsonFile<StoredDoc | null>(fileOf(name)), record)
      await db.write()
    },
    async list() {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -'.json'.length))
    },
    async close() {},
  }
}
