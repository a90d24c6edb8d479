/**
 * Where the headless screens run. Parsing is the most expensive step of a flood, and on the
 * daemon's main thread it alternates with reading the PTY: while the parser works, nobody reads,
 * the PTY's small kernel buffer fills and the program stalls. A worker thread parses while the
 * main thread keeps reading and fanning out, so a flood runs at the rate of the slower of the two
 * instead of their sum. Messages to the worker keep their order, so the snapshot cut is exactly
 * as precise as in-process. When the worker cannot start (e.g. running from TypeScript sources
 * in a test), the same screens run in-process.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { HeadlessScreen, type ScreenOptions, type Snapshot } from './screen.js'

/** One screen as its mirror sees it: write, cut, resize, dispose; parsed credit and titles come back. */
export interface ScreenPort {
  write(data: string): void
  cut(ready: (snapshot: Snapshot) => void): void
  resize(cols: number, rows: number): void
  dispose(): void
}

export interface ScreenEvents {
  /** `size` UTF-16 code units written earlier have been parsed (flow-control credit). */
  parsed(size: number): void
  title(title: string): void
}

export interface ScreenHost {
  open(opts: ScreenOptions, events: ScreenEvents): ScreenPort
  close(): Promise<void>
}

// ── messages (main ⇄ worker) ─────────────────────────────────────────────────────────────────

export type ToWorker =
  | { op: 'open'; id: number; opts: ScreenOptions }
  | { op: 'write'; id: number; data: string }
  | { op: 'cut'; id: number; cut: number }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'dispose'; id: number }

export type FromWorker =
  | { op: 'parsed'; id: number; size: number }
  | { op: 'title'; id: number; title: string }
  | { op: 'snapshot'; id: number; cut: number; snapshot: Snapshot }

/**
 * Output posted to the worker in one message, at most (UTF-16 code units). Batching saves a
 * message per 4 KB PTY read; the cap keeps one message from holding a large share of the
 * flow-control window.
 */
export const MAX_WRITE_BATCH = 64 * 1024

/** Screens in this thread: simple, and what tests running from sources get. */
export function localScreenHost(): ScreenHost {
  return {
    open(opts, events) {
      const screen = new HeadlessScreen(opts, (title) => events.title(title))
      return {
        write: (data) => screen.write(data, () => events.parsed(data.length)),
        cut: (ready) => screen.cut(ready),
        resize: (cols, rows) => screen.resize(cols, rows),
        dispose: () => screen.dispose(),
      }
    },
    close: async () => {},
  }
}

/** Screens in one worker thread shared by every session; falls back to in-process. */
export function workerScreenHost(): ScreenHost {
  const script = fileURLToPath(new URL('./screen-worker.js', import.meta.url))
  if (!existsSync(script)) return localScreenHost()
  const worker = new Worker(script)
  worker.unref()
  const screens = new Map<number, { events: ScreenEvents; cuts: Map<number, (s: Snapshot) => void> }>()
  let nextId = 1
  let nextCut = 1
  worker.on('message', (message: FromWorker) => {
    const screen = screens.get(message.id)
    if (!screen) return
    if (message.op === 'parsed') screen.events.parsed(message.size)
    else if (message.op === 'title') screen.events.title(message.title)
    else {
      const ready = screen.cuts.get(message.cut)
      screen.cuts.delete(message.cut)
      ready?.(message.snapshot)
    }
  })
  worker.on('error', (err) => {
    // Nothing recovers a dead parser's state; say so loudly rather than serve stale screens.
    process.stderr.write(`tabula: the screen worker failed: ${err.stack ?? err}\n`)
  })
  const post = (message: ToWorker) => worker.postMessage(message)
  return {
    open(opts, events) {
      const id = nextId++
      const screen = { events, cuts: new Map<number, (s: Snapshot) => void>() }
      screens.set(id, screen)
      post({ op: 'open', id, opts })
      // Reads that arrive in one turn of the event loop travel as one message; anything else
      // (cut, resize, dispose) sends them first, so the worker sees everything in order.
      let batch: string[] = []
      let batched = 0
      let scheduled = false
      const flush = () => {
        if (batch.length === 0) return
        post({ op: 'write', id, data: batch.length === 1 ? batch[0]! : batch.join('') })
        batch = []
        batched = 0
      }
      return {
        write(data) {
          batch.push(data)
          batched += data.length
          if (batched >= MAX_WRITE_BATCH) return flush()
          if (scheduled) return
          scheduled = true
          setImmediate(() => {
            scheduled = false
            flush()
          })
        },
        cut(ready) {
          flush()
          const cut = nextCut++
          screen.cuts.set(cut, ready)
          post({ op: 'cut', id, cut })
        },
        resize(cols, rows) {
          flush()
          post({ op: 'resize', id, cols, rows })
        },
        dispose() {
          batch = []
          screens.delete(id)
          post({ op: 'dispose', id })
        },
      }
    },
    async close() {
      screens.clear()
      await worker.terminate()
    },
  }
}
