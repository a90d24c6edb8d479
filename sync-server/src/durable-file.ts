/**
 * A lowdb adapter that writes the way a crash cannot hurt (writeFileDurable: temporary file,
 * fsync, rename, directory fsync). lowdb's own JSONFile renames too but does not fsync, which
 * survives a killed process and not a power cut; a layout document should survive both.
 */
import { readFile } from 'node:fs/promises'
import type { Adapter } from 'lowdb'
import { writeFileDurable } from '@tabula/server-kit'

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
    await writeFileDurable(this.path, JSON.stringify(data))
  }
}
