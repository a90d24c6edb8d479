/**
 * The C heap's free pages given back to the system (docs/daemon.md, "Memory per session").
 * Buffers of a burst of output (PTY reads, output chunks, the copies for the screen workers) are
 * malloc'd; once freed, glibc keeps them in its arenas below any allocation still live, and an
 * idle daemon would hold its peak for ever: measured, most of what an idle session still cost.
 * Node gives JavaScript no way to ask for them back, so the daemon carries a small addon
 * (daemon/native/malloc-trim.c, built by `npm install` with the toolchain node-pty needs) that
 * calls glibc's malloc_trim(0). Without the addon, or off glibc, this does nothing.
 */
import { createRequire } from 'node:module'

interface MallocTrim {
  trim(): boolean
  supported(): boolean
}

/** Where `npm install` builds the addon, from daemon/dist/screen/ (and daemon/src/screen/). */
const ADDON_PATH = '../../build/Release/malloc_trim.node'

let addon: MallocTrim | null | undefined

function load(): MallocTrim | null {
  if (addon !== undefined) return addon
  try {
    const loaded = createRequire(import.meta.url)(ADDON_PATH) as MallocTrim
    addon = loaded.supported() ? loaded : null
  } catch {
    addon = null
  }
  return addon
}

/** Whether free heap memory can be given back here (the addon built, on glibc). */
export function canReleaseFreeHeap(): boolean {
  return load() !== null
}

/**
 * Gives the free pages of every malloc arena back to the system; true when some were. It takes
 * each arena's lock in turn, so it is called when the thread is idle, never on a hot path.
 */
export function releaseFreeHeap(): boolean {
  return load()?.trim() ?? false
}
