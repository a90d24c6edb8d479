/**
 * The session map: canonical key → live PTY. It is the only place a session comes into or goes out
 * of existence (I1, docs/architecture.md "Invariants"). It knows nothing of HTTP or files; the
 * daemon listens to its changes to keep the manifest, and the live channel listens to mirror them
 * to viewers.
 */
import { kindOfKey, Listeners, MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS, type Session } from '@tabula/protocol'
import type { Logger } from '@tabula/server-kit'
import { endSession } from './process-group.js'
import { spawnPty, type OwnedPty } from './pty.js'
import type { LiveSession, SessionChange, SessionMapView } from './types.js'

/** Everything needed to start one session, already checked (see launch.ts). */
export interface SpawnSpec {
  key: string
  workspace: string
  /** As the request named it; kept in the record and the manifest. */
  command: string
  /** The executable `command` resolved to; what actually runs. */
  file: string
  args: string[]
  cwd: string
  env?: Record<string, string>
  cols: number
  rows: number
  closeOnExit?: boolean
  /** A title remembered from before a restart. */
  title?: string | null
}

interface Entry {
  record: Session
  live: LiveSession
  pty: OwnedPty
  closeOnExit: boolean
  outputs: Set<(data: Uint8Array) => void>
}

export class SessionMap implements SessionMapView {
  #seq = 0
  #stopping = false
  readonly #entries = new Map<string, Entry>()
  readonly #listeners: Listeners<[change: SessionChange]>
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
    this.#listeners = new Listeners((err) => this.#log.error({ err }, 'a session change listener failed'))
  }

  get seq(): number {
    return this.#seq
  }

  get(key: string): LiveSession | undefined {
    return this.#entries.get(key)?.live
  }

  list(workspace: string): LiveSession[] {
    return [...this.#entries.values()].filter((e) => e.record.workspace === workspace).map((e) => e.live)
  }

  onChange(listener: (change: SessionChange) => void): () => void {
    const subscription = this.#listeners.add(listener)
    return () => subscription.dispose()
  }

  onOutput(key: string, listener: (data: Uint8Array) => void): () => void {
    const entry = this.#entries.get(key)
    if (!entry) return () => {}
    entry.outputs.add(listener)
    return () => entry.outputs.delete(listener)
  }

  /**
   * Starts a PTY under `spec.key`. The caller has checked that the key is free; a second PTY for
   * one key would break I4 (one PTY per key), so this refuses rather than replaces.
   */
  spawn(spec: SpawnSpec): LiveSession {
    if (this.#stopping) throw new Error('the daemon is shutting down')
    if (this.#entries.has(spec.key)) throw new Error(`session ${spec.key} already exists`)
    const kind = kindOfKey(spec.key)
    if (!kind) throw new Error(`"${spec.key}" is not a canonical key`)
    // The entry exists before the PTY: its events find it however early they come.
    let entry: Entry | undefined
    const pty = spawnPty(
      { file: spec.file, args: spec.args, cwd: spec.cwd, env: sessionEnv(spec), cols: spec.cols, rows: spec.rows },
      {
        data: (data) => entry && this.#fanOut(entry, data),
        exit: (exitCode, signal) => entry && this.#exited(entry, signal ? 128 + signal : exitCode),
        uncontained: () =>
          this.#log.warn(
            { key: spec.key },
            "no perl to close inherited descriptors above 9 with: this program may hold other sessions' terminals",
          ),
      },
    )
    const record: Session = {
      key: spec.key,
      workspace: spec.workspace,
      kind,
      command: spec.command,
      args: [...spec.args],
      cwd: spec.cwd,
      pid: pty.pid,
      status: 'running',
      exitCode: null,
      title: spec.title ?? null,
      cols: spec.cols,
      rows: spec.rows,
      createdAt: new Date().toISOString(),
      activeViewer: null,
    }
    entry = {
      record,
      live: { key: spec.key, workspace: spec.workspace, pty, info: () => snapshot(record) },
      pty,
      closeOnExit: spec.closeOnExit ?? false,
      outputs: new Set(),
    }
    this.#entries.set(spec.key, entry)
    // Same tick as the spawn: node-pty delivers output from the event loop, so every subscriber
    // of `added` is in place before the first byte.
    const identity = { file: spec.file, pid: pty.pid, started: pty.started }
    this.#emit({
      type: 'added',
      workspace: record.workspace,
      seq: ++this.#seq,
      session: snapshot(record),
      closeOnExit: entry.closeOnExit,
      process: identity,
    })
    return entry.live
  }

  /**
   * Removes the key at once (viewers see it go), then ends every process of its session.
   * Resolves when they are gone; false when there was no such key.
   */
  async close(key: string): Promise<boolean> {
    const entry = this.#entries.get(key)
    if (!entry) return false
    this.#remove(entry)
    // Even after the program itself exited, what it left running in its session goes too.
    await endSession(entry.record.pid)
    return true
  }

  resize(key: string, cols: number, rows: number): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    cols = clamp(Math.round(cols), MIN_COLS, MAX_COLS)
    rows = clamp(Math.round(rows), MIN_ROWS, MAX_ROWS)
    if (entry.record.cols === cols && entry.record.rows === rows) return
    if (entry.record.status === 'running') {
      try {
        entry.live.pty.resize(cols, rows)
      } catch (err) {
        // The process may have exited between the check and the call; the record still moves.
        this.#log.debug({ err, key }, 'resize of an ending PTY failed')
      }
    }
    entry.record.cols = cols
    entry.record.rows = rows
    this.#updated(entry)
  }

  update(key: string, patch: Partial<Pick<Session, 'title' | 'activeViewer'>>): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    let changed = false
    if (patch.title !== undefined && patch.title !== entry.record.title) {
      entry.record.title = patch.title
      changed = true
    }
    if (patch.activeViewer !== undefined && patch.activeViewer !== entry.record.activeViewer) {
      entry.record.activeViewer = patch.activeViewer
      changed = true
    }
    if (changed) this.#updated(entry)
  }

  /**
   * Shutdown: ends every session's processes without removing any key, so the manifest still
   * names them for the next start. No change is emitted; the daemon is going away. Output read
   * meanwhile still reaches the screens (they are saved after this).
   */
  async stopAll(): Promise<void> {
    this.#stopping = true
    await Promise.all([...this.#entries.values()].map((e) => endSession(e.record.pid)))
    for (const entry of this.#entries.values()) entry.pty.dispose()
  }

  #exited(entry: Entry, exitCode: number): void {
    if (this.#stopping || this.#entries.get(entry.record.key) !== entry) return
    if (entry.closeOnExit) {
      this.#remove(entry)
      return
    }
    entry.record.status = 'exited'
    entry.record.exitCode = exitCode
    this.#updated(entry)
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.record.key)
    this.#emit({ type: 'removed', workspace: entry.record.workspace, seq: ++this.#seq, key: entry.record.key })
    // Output still in flight after the removal goes nowhere: the key no longer exists.
    entry.outputs.clear()
    entry.pty.dispose()
  }

  #updated(entry: Entry): void {
    this.#emit({ type: 'updated', workspace: entry.record.workspace, seq: ++this.#seq, session: snapshot(entry.record) })
  }

  #fanOut(entry: Entry, data: Uint8Array): void {
    for (const listener of entry.outputs) {
      try {
        listener(data)
      } catch (err) {
        this.#log.error({ err, key: entry.record.key }, 'an output listener failed')
      }
    }
  }

  #emit(change: SessionChange): void {
    this.#listeners.emit(change)
  }
}

function sessionEnv(spec: SpawnSpec): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value
  Object.assign(env, { TERM: 'xterm-256color', COLORTERM: 'truecolor' }, spec.env)
  // Set last, so a program can always tell which tab it runs in.
  env.TABULA_SESSION_KEY = spec.key
  env.TABULA_WORKSPACE = spec.workspace
  return env
}

function snapshot(record: Session): Session {
  return { ...record, args: [...record.args] }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
