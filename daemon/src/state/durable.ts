/**
 * Writes the state file until it is written. Every change marks the state dirty; one write at a
 * time takes the whole current state to disk; a write that fails (a full disk, a read-only
 * remount, an I/O error) is retried with backoff until one succeeds, so nothing accepted is
 * dropped because one write failed (docs/daemon.md "State on a failing disk").
 *
 * A request that must be durable before it is answered waits for `durable()`: it resolves once
 * a write that began after the change has succeeded, and rejects with StateWriteError as soon as
 * such a write has failed, so the request can be answered 507 (and undone) at once rather than
 * hang; the retries go on in the background for everything else.
 */
import { backoffDelay } from '@tabula/protocol'

export const STATE_RETRY_FIRST_MS = 200
export const STATE_RETRY_MAX_MS = 10_000
/** How long shutdown keeps retrying a failing write before it gives up and says what was lost. */
export const STATE_SHUTDOWN_RETRY_MS = 3_000

/** The state could not be written; `cause` is the file system's error. */
export class StateWriteError extends Error {
  /** The file system's error code (ENOSPC, EMFILE, EIO…), when it gave one. */
  readonly code: string | undefined

  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause)
    super(
      reason === 'ENOSPC'
        ? `the disk holding ${path} is full, so the change could not be saved; free some space and try again`
        : `${path} could not be written (${reason}), so the change could not be saved; tabula keeps retrying`,
      { cause },
    )
    this.name = 'StateWriteError'
    this.code = (cause as NodeJS.ErrnoException)?.code
  }
}

export interface DurableWriter {
  /** Marks the state changed and makes sure a write will take it to disk. */
  changed(): void
  /** Resolves when everything changed so far is on disk; rejects when a write of it has failed. */
  durable(): Promise<void>
  /** Shutdown: writes what is unwritten, retrying for at most STATE_SHUTDOWN_RETRY_MS. */
  flush(): Promise<void>
  /** True while something changed is not on disk. */
  readonly dirty: boolean
}

interface Waiter {
  /** The change count the waiter needs on disk. */
  version: number
  resolve(): void
  reject(err: StateWriteError): void
}

export function durableWriter(
  path: string,
  write: () => Promise<void>,
  onFailure: (err: StateWriteError, retryInMs: number) => void,
): DurableWriter {
  let version = 0
  let written = 0
  let writing = false
  let failures = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let waiters: Waiter[] = []
  let idle: (() => void)[] = []

  async function run(): Promise<void> {
    if (writing || written === version) return
    writing = true
    const target = version
    try {
      await write()
      written = Math.max(written, target)
      failures = 0
      settle(
        (w) => w.version <= written,
        (w) => w.resolve(),
      )
    } catch (err) {
      const failure = new StateWriteError(path, err)
      // Everyone waiting for this write, or an earlier one, hears now; later changes get their own try.
      settle(
        (w) => w.version <= target,
        (w) => w.reject(failure),
      )
      const delay = backoffDelay(failures++, STATE_RETRY_FIRST_MS, STATE_RETRY_MAX_MS)
      onFailure(failure, delay)
      // Requests that changed the state during this write wait for their own try, now; the
      // rest is retried after the backoff.
      if (waiters.length === 0) {
        timer ??= setTimeout(() => {
          timer = null
          void run()
        }, delay)
        timer.unref?.()
      }
    } finally {
      writing = false
    }
    if (written !== version && !timer) void run()
    if (written === version) for (const done of idle.splice(0)) done()
  }

  function settle(match: (w: Waiter) => boolean, act: (w: Waiter) => void): void {
    const now = waiters.filter(match)
    waiters = waiters.filter((w) => !match(w))
    for (const w of now) act(w)
  }

  return {
    changed() {
      version++
      // A change while a retry is waiting waits with it: the next write carries everything.
      if (!timer) void run()
    },
    durable() {
      if (written >= version) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        waiters.push({ version, resolve, reject })
        // Retrying on a timer: a new request should not wait the whole backoff to hear the answer.
        if (timer && !writing) {
          clearTimeout(timer)
          timer = null
          void run()
        }
      })
    },
    async flush() {
      const deadline = Date.now() + STATE_SHUTDOWN_RETRY_MS
      while (written !== version) {
        if (timer) {
          clearTimeout(timer)
          timer = null
        }
        const done = new Promise<void>((resolve) => idle.push(resolve))
        void run()
        const left = deadline - Date.now()
        if (left <= 0) break
        await Promise.race([done, new Promise((resolve) => setTimeout(resolve, Math.min(left, STATE_RETRY_FIRST_MS)))])
      }
      idle = []
      if (timer) clearTimeout(timer)
      timer = null
      if (written !== version) throw new StateWriteError(path, new Error('still failing at shutdown'))
    },
    get dirty() {
      return written !== version
    },
  }
}
