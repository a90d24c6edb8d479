/**
 * The SDK's view of the daemon's live channel (docs/protocol.md): what client-sdk/src/live/
 * implements and the workspace view consumes, so either side can change behind it.
 */
import type { Session, ViewerInfo } from '@tabula/protocol'

export interface Disposable {
  dispose(): void
}

export type ConnectionState = 'connecting' | 'open' | 'closed'

/** Receives one workspace's key set: a full set first (and again after each reconnect), then deltas in seq order. */
export interface WorkspaceWatcher {
  onSessions(seq: number, sessions: Session[]): void
  onAdded(seq: number, session: Session): void
  onRemoved(seq: number, key: string): void
  onUpdated(seq: number, session: Session): void
  /** The daemon refused the watch (e.g. `not_found`: no such workspace). Optional. */
  onError?(error: LiveError): void
}

/** An `error` frame from the daemon (docs/protocol.md), or a failure to connect. */
export interface LiveError {
  code: string
  message: string
  ch?: number
  workspace?: string
}

export interface SizeChange {
  cols: number
  rows: number
  /** The viewer id that drives the size, or null. Compare with `LiveClient.viewerId`. */
  activeViewer: string | null
}

/** One attached terminal (`ws.attach`, docs/sdk.md "The surface"). Survives reconnects: it re-attaches by itself. */
export interface TerminalHandle {
  readonly key: string
  /**
   * Output to write into the viewer's terminal emulator. On (re)attach the first chunk is the
   * daemon's snapshot, prefixed with a full reset, so a viewer just writes what it gets.
   */
  onData(listener: (data: string) => void): Disposable
  /**
   * The same output as bytes (UTF-8), exactly as the daemon sent them: no decode, for consumers
   * that take bytes (xterm.js `write(Uint8Array)`, a tty). Chunks may split a UTF-8 character.
   * The first chunk of each (re)attach is the reset plus the snapshot, the payload of the daemon's
   * binary snapshot frame as it came (docs/protocol.md §4). The bytes are the
   * listener's; do not modify them (other listeners get the same ones). While only byte
   * listeners are registered, the SDK does not decode output at all.
   */
  onBytes(listener: (data: Uint8Array) => void): Disposable
  onExit(listener: (exitCode: number | null) => void): Disposable
  onSize(listener: (size: SizeChange) => void): Disposable
  /** The session was closed at the daemon, or never existed. The handle is finished. */
  onClosed(listener: (reason: string) => void): Disposable
  /**
   * Input to the program. Input written before the first attach has answered is kept and sent
   * then; input written while a dropped connection is being re-established goes nowhere (as ssh).
   */
  write(data: string): void
  /** Ignored by the daemon (and reported through onSize staying put) unless this viewer is active. */
  resize(cols: number, rows: number): void
  setActive(active: boolean): void
  dispose(): void
}

/** How `attach` shows a terminal (docs/sdk.md, "The surface"). */
export interface AttachOptions {
  /**
   * The visible screen first, the scrollback right after it: the first chunk is a reset plus the
   * screen alone (no scrollback rows), so it arrives and is written at once whatever the history;
   * a later chunk is a reset plus the whole snapshot (screen and scrollback), as a plain attach's
   * first chunk. A viewer writing every chunk in order ends with the same terminal either way.
   * For an emulator a reset clears whole (xterm.js); not for a real terminal, whose own
   * scrollback would keep the screen it showed first (docs/protocol.md, "Screen first").
   */
  screenFirst?: boolean
}

export interface LiveClientOptions {
  /** The daemon's base URL, http(s)://host:port; the socket goes to ws(s)://…/v1/live. */
  daemonUrl: string
  token: string
  viewer?: ViewerInfo
  /** A WebSocket constructor; defaults to globalThis.WebSocket (Node 20 has none: pass `ws`). */
  WebSocket?: unknown
  /** Every error frame and connection failure, for logging. Optional. */
  onError?(error: LiveError): void
}

export interface LiveClient {
  /** This connection's viewer id, assigned by the daemon (null until the first welcome). */
  readonly viewerId: string | null
  readonly state: ConnectionState
  onState(listener: (state: ConnectionState) => void): Disposable
  watch(workspace: string, watcher: WorkspaceWatcher): Disposable
  attach(key: string, options?: AttachOptions): TerminalHandle
  /** Closes the socket for good; no more reconnects. */
  close(): Promise<void>
}
