/**
 * A lowdb adapter that writes the way a crash cannot hurt: a temporary file is written and
 * fsynced, renamed over the old one, and the directory is fsynced so the rename itself is on
 * disk. lowdb's own JSONFile renames too, but does not fsync, which survives a killed process
 * and not a power cut; a layout document should survive both.
 */
import { open, readFile, rename, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import type { Adapter } from 'lowdb'

export class DurableJsonFile<T> implements Adapter<T> {
  constructor(private readonly path: string) {}

  async read(): Promise<T | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    try {
      return JSON.parse(text) as T
    } catch (err) {
      throw new Error(`${this.path} is not valid JSON: ${(err as Error).message}`)
    }
  }

  async write(data: T): Promise<void> {
    await writeDurably(this.path, JSON.stringify(data))
  }
}

export async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const file = await open(tmp, 'w', 0o600)
    try {
      await file.writeFile(text)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  await syncDirectory(dirname(path))
}

async function syncDirectory(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close()
  }
}
