/**
 * The one way tabula writes a file it keeps (docs/daemon.md, "Files under the home"): the
 * bytes go to a temporary file beside the target, created with the target's mode, are fsynced,
 * the temporary file is renamed over the target and the directory is fsynced. A reader (another
 * process, or tabula after a crash or a power cut) finds the old file or the new one, whole, and
 * once the call returns the new one stays. Every file goes through here: the token, runtime.json,
 * locks, devices, the daemon's state and saved screens, layout documents, the SDK's offline copy.
 *
 * Node built-ins only, so the SDK's Node entry can use it (`@tabula/server-kit/durable-write`)
 * without loading anything else of the kit.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'

/** Files tabula keeps are its user's alone (tokens, state, layouts, screens). */
export const PRIVATE_FILE_MODE = 0o600

/** A sibling temporary name no other process or write will pick ('wx' refuses one that exists). */
function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
}

/**
 * Writes `data` to `path` durably (see above); on failure the target is untouched and no
 * temporary file is left. `data` may come in pieces, written one after another (a big file need
 * not be one string first).
 */
export async function writeFileDurable(
  path: string,
  data: string | Uint8Array | Iterable<string | Uint8Array>,
  mode = PRIVATE_FILE_MODE,
): Promise<void> {
  const tmp = tempPathFor(path)
  try {
    const file = await open(tmp, 'wx', mode)
    try {
      await writeFile(file, data)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  let dir: FileHandle | undefined
  try {
    dir = await open(dirname(path), 'r')
    await dir.sync()
  } catch {
    // Some file systems refuse to fsync a directory; the rename is still atomic there.
  } finally {
    await dir?.close()
  }
}

/**
 * As writeFileDurable, blocking: for the small files written where no promise can be awaited
 * (the token and lock at start, runtime.json, devices under their cross-process lock).
 */
export function writeFileDurableSync(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): void {
  const tmp = tempPathFor(path)
  try {
    const fd = openSync(tmp, 'wx', mode)
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  let dir: number | undefined
  try {
    dir = openSync(dirname(path), 'r')
    fsyncSync(dir)
  } catch {
    // As above.
  } finally {
    if (dir !== undefined) closeSync(dir)
  }
}
