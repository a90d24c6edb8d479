/**
 * What the session map shows the live channel, and all it shows. The map owns
 * existence; the live channel mirrors output, routes input and tracks the driver through it.
 */
import type { Pty } from './pty.js'
import type { Session } from '@tabula/protocol'

export type SessionChange =
  /** `closeOnExit` is not part of the public record, but the manifest keeps it for restore. */
  | { type: 'added'; workspace: string; seq: number; session: Session; closeOnExit: boolean; process: ProcessIdentity }
  | { type: 'removed'; workspace: string; seq: number; key: string }
  | { type: 'updated'; workspace: string; seq: number; session: Session }

/**
 * What the manifest keeps of a session's program so that a later daemon can tell it apart from
 * any other process and run the same program again (docs/daemon.md "Restore").
 */
export interface ProcessIdentity {
  /** The executable that runs (the request's command resolved). */
  file: string
  pid: number
  /** When that pid started (processes.ts), so a reused pid is never mistaken for it; null if unknown. */
  started: string | null
}

/** A running (or exited, not yet closed) session as the daemon holds it. */
export interface LiveSession {
  readonly key: string
  readonly workspace: string
  /** The PTY (sessions/pty.ts). The live channel may write, pause and resume it; resize goes through the map. */
  readonly pty: Pty
  /** A copy of the public record (what HTTP and frames carry). */
  info(): Session
}

export interface SessionMapView {
  /** Grows with every change of any key set (docs/daemon.md, "seq"). */
  readonly seq: number
  get(key: string): LiveSession | undefined
  list(workspace: string): LiveSession[]
  /**
   * Every change, emitted synchronously in seq order. `added` is emitted inside spawn, before
   * the PTY can deliver a byte, so a subscriber sees all of a session's output.
   */
  onChange(listener: (change: SessionChange) => void): () => void
  /**
   * Raw PTY output of one session, in order, as the bytes the program wrote (one node-pty
   * listener per session, fanned out). A chunk may end inside a multi-byte UTF-8 character; the
   * next chunk carries the rest. Listeners must not modify the bytes: every listener gets the
   * same array.
   */
  onOutput(key: string, listener: (data: Uint8Array) => void): () => void
  /** Resizes the PTY and records the size; emits `updated` (only when the size changed). */
  resize(key: string, cols: number, rows: number): void
  /** Records a title or the active viewer; emits `updated` (only when something changed). */
  update(key: string, patch: Partial<Pick<Session, 'title' | 'activeViewer'>>): void
}
