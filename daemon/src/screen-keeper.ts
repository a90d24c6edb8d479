/**
 * Keeps every session's screen and scrollback on disk (state/screens.ts): every few seconds while
 * its output changes, and once more at shutdown, so that a restart, even after a crash, shows
 * nearly all of what the tab showed (docs/daemon.md "Restore"). Screens come from the live
 * channel's snapshot, the same one a late viewer gets. One listener on the session map; data
 * flows one way, from the map and the screens to the files.
 */
import { MAX_SAVED_SCREEN_BYTES, MAX_SAVED_SCREENS_TOTAL_BYTES } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import { SCREEN_SAVE_INTERVAL_MS, SNAPSHOT_WAIT_MS } from './defaults.js'
import type { Snapshot } from './live/mirror.js'
import type { SessionMapView } from './sessions/types.js'
import { fitScreen, type ScreenFiles } from './state/screens.js'

/** Screen files written at once (each holds two descriptors for a moment: the file and its directory). */
const SCREEN_WRITES_IN_FLIGHT = 16

export interface ScreenKeeper {
  /** Saves every session's screen now; `ended` marks them as ended by this shutdown. */
  saveAll(ended?: Date): Promise<void>
  stop(): void
}

export interface ScreenKeeperOptions {
  sessions: SessionMapView
  files: ScreenFiles
  snapshot(key: string): Promise<Snapshot | null>
  log: Logger
  intervalMs?: number
  /** The disk budget; protocol/src/limits.ts by default. */
  caps?: { perSession: number; total: number }
}

export function keepScreens(opts: ScreenKeeperOptions): ScreenKeeper {
  const { sessions, files, log } = opts
  /** Keys whose screen changed since their last save, and their output subscriptions. */
  const dirty = new Set<string>()
  const watching = new Map<string, () => void>()
  let saving: Promise<void> = Promise.resolve()
  let stopped = false

  const watch = (key: string) => {
    if (watching.has(key)) return
    dirty.add(key)
    watching.set(
      key,
      sessions.onOutput(key, () => dirty.add(key)),
    )
  }
  const stopChanges = sessions.onChange((change) => {
    if (change.type === 'added') watch(change.session.key)
    else if (change.type === 'removed') {
      watching.get(change.key)?.()
      watching.delete(change.key)
      dirty.delete(change.key)
      // A closed tab does not come back, and neither does its screen.
      saving = saving
        .then(() => files.remove(change.key))
        .catch((err) => log.warn({ err, key: change.key }, 'could not remove a saved screen'))
    }
  })

  /** Takes the session's snapshot; resolves, once its file's write has begun, to that write. */
  async function save(key: string, ended: Date | null): Promise<{ written: Promise<void> } | null> {
    const snapshot = await withTimeout(opts.snapshot(key), SNAPSHOT_WAIT_MS)
    if (!snapshot || !watching.has(key)) return null
    // Each session gets an equal share of the total, and never more than its own cap.
    const caps = opts.caps ?? { perSession: MAX_SAVED_SCREEN_BYTES, total: MAX_SAVED_SCREENS_TOTAL_BYTES }
    const share = Math.floor(caps.total / Math.max(1, watching.size))
    const screen = {
      version: 1 as const,
      key,
      cols: snapshot.cols,
      rows: snapshot.rows,
      data: snapshot.data,
      savedAt: new Date().toISOString(),
      endedAt: ended?.toISOString() ?? null,
    }
    return { written: files.write(fitScreen(screen, Math.min(caps.perSession, share))) }
  }

  function saveKeys(keys: string[], ended: Date | null): Promise<void> {
    const run = saving.then(async () => {
      // Snapshots one after another (they come from the screen workers); the durable writes of
      // their files, a few at a time, so that the fsyncs of 256 sessions at shutdown overlap.
      const writing = new Set<Promise<void>>()
      for (const key of keys) {
        dirty.delete(key)
        const failed = (err: unknown) => log.warn({ err, key }, 'could not save the screen of a session')
        try {
          const saved = await save(key, ended)
          if (!saved) continue
          const tracked: Promise<void> = saved.written.catch(failed).finally(() => writing.delete(tracked))
          writing.add(tracked)
          if (writing.size >= SCREEN_WRITES_IN_FLIGHT) await Promise.race(writing)
        } catch (err) {
          failed(err)
        }
      }
      await Promise.all(writing)
    })
    saving = run.catch(() => {})
    return run
  }

  const timer = setInterval(() => {
    if (dirty.size && !stopped) void saveKeys([...dirty], null)
  }, opts.intervalMs ?? SCREEN_SAVE_INTERVAL_MS)
  timer.unref()

  return {
    saveAll: (ended) => saveKeys([...watching.keys()], ended ?? null),
    stop() {
      stopped = true
      clearInterval(timer)
      stopChanges()
      for (const stop of watching.values()) stop()
    },
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms)
    timer.unref()
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      () => {
        clearTimeout(timer)
        resolve(null)
      },
    )
  })
}
