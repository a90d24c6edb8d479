/**
 * Offline persistence for Node: one directory, two files per workspace. The document is saved
 * as one Yjs update holding its whole state, rewritten durably (writeFileDurable: temporary file,
 * fsync, rename, directory fsync) a moment after each change, so a crash or a power cut leaves
 * either the old state or the new one, never half.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as Y from 'yjs'
import { writeFileDurable } from '@tabula/server-kit/durable-write'
import type { CachedKeySet, StorageProvider, WorkspaceStore } from '../api.js'

/** Changes arriving within this window are saved together. */
const SAVE_DELAY_MS = 100

export const FILE_STORE_ORIGIN = Symbol('tabula.file-store')

export function fileStorage(dir: string): StorageProvider {
  return { open: (workspaceId, doc) => new FileWorkspaceStore(dir, workspaceId, doc) }
}

class FileWorkspaceStore implements WorkspaceStore {
  readonly loaded: Promise<void>
  private readonly docPath: string
  private readonly keysPath: string
  private timer: ReturnType<typeof setTimeout> | null = null
  private writing: Promise<void> = Promise.resolve()
  private closed = false
  private readonly onUpdate = (_update: Uint8Array, origin: unknown): void => {
    if (origin !== FILE_STORE_ORIGIN) this.scheduleSave()
  }

  constructor(
    private readonly dir: string,
    workspaceId: string,
    private readonly doc: Y.Doc,
  ) {
    const base = encodeURIComponent(workspaceId)
    this.docPath = join(dir, `${base}.ydoc`)
    this.keysPath = join(dir, `${base}.keys.json`)
    this.loaded = this.load()
  }

  async readKeySet(): Promise<CachedKeySet | null> {
    try {
      return JSON.parse(await readFile(this.keysPath, 'utf8')) as CachedKeySet
    } catch {
      return null
    }
  }

  writeKeySet(keySet: CachedKeySet): void {
    if (this.closed) return
    this.writing = this.writing.then(() => writeFileDurable(this.keysPath, JSON.stringify(keySet))).catch(() => {})
  }

  async close(): Promise<void> {
    if (this.closed) return
    // A store closed while it is still reading must not lose what was edited meanwhile: wait for
    // the read, then save the whole state once more.
    await this.loaded.catch(() => {})
    this.doc.off('update', this.onUpdate)
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.saveDoc()
    this.closed = true
    await this.writing
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    try {
      const state = await readFile(this.docPath)
      Y.applyUpdate(this.doc, new Uint8Array(state), FILE_STORE_ORIGIN)
    } catch {
      // No saved state yet (or unreadable): start from what the server sends.
    }
    this.doc.on('update', this.onUpdate)
    // Anything written before the file was read (nothing, normally) is saved too.
    this.scheduleSave()
  }

  private scheduleSave(): void {
    if (this.closed || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.saveDoc()
    }, SAVE_DELAY_MS)
  }

  private saveDoc(): void {
    const state = Y.encodeStateAsUpdate(this.doc)
    this.writing = this.writing.then(() => writeFileDurable(this.docPath, state)).catch(() => {})
  }
}
