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
  /** Output bytes, in order; the port copies what it needs to keep (the caller shares `data`). */
  write(data: Uint8Array): void
  cut(ready: (snapshot: Snapshot) => void): void
  resize(cols: number, rows: number): void
  dispose(): void
}

export interface ScreenEvents {
  /** `size` bytes written earlier have been parsed (flow-control credit). */
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
  | { op: 'write'; id: number; data: Uint8Array }
  | { op: 'cut'; id: number; cut: number }
  | { op: 'resize'; id: number; cols: number; rows: number }
  | { op: 'dispose'; id: number }

export type FromWorker =
  | { op: 'parsed'; id: number; size: number }
  | { op: 'title'; id: number; title: string }
  | { op: 'snapshot'; id: number; cut: number; snapshot: Snapshot }

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
      return {
        write(data) {
          // The mirror batches reads (one message per turn of the event loop). The bytes are
          // shared with the viewers' frames, so the worker gets its own copy, moved rather than
          // copied a second time by postMessage.
          const copy = new Uint8Array(data)
          worker.postMessage({ op: 'write', id, data: copy } satisfies ToWorker, [copy.buffer])
        },
        cut(ready) {
          const cut = nextCut++
          screen.cuts.set(cut, ready)
          post({ op: 'cut', id, cut })
        },
        resize(cols, rows) {
          post({ op: 'resize', id, cols, rows })
        },
        dispose() {
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
