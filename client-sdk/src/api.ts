/**
 * The public surface of @tabula/client-sdk (docs/sdk.md, "The surface"). Everything a program
 * embedding the SDK touches is declared here; the classes that implement it are internal and may
 * change.
 */
import type {
  CreateWorkspaceRequest,
  LayoutView,
  Session,
  SessionKind,
  SessionStatus,
  ViewerInfo,
  Workspace as WorkspaceInfo,
} from '@tabula/protocol'
import type * as Y from 'yjs'
import type { AttachOptions, TerminalHandle } from './live/types.js'

export type {
  LayoutView,
  PaneNode,
  PaneGroupNode,
  PaneSplitNode,
  TabPlacement,
  Session,
  ViewerInfo,
  CreateWorkspaceRequest,
} from '@tabula/protocol'
/** A workspace as the daemon knows it: `{id, path, name}`. */
export type { Workspace as WorkspaceInfo } from '@tabula/protocol'
export type { TerminalHandle, SizeChange, Disposable, AttachOptions } from './live/types.js'

/** One tab as every viewer shows it: a live session placed by the shared layout. */
export interface Tab {
  /** The session's canonical key (docs/daemon.md, "Sessions and keys"). */
  key: string
  kind: SessionKind
  /** The custom title if one is set, else the program's own title, else its command's name ("bash" for "/bin/bash"). */
  title: string
  /** The custom title alone, or null: what a rename field starts from. */
  customTitle: string | null
  /** The pane group the tab sits in. */
  group: string
  /** Position inside its group, from 0. */
  index: number
  status: SessionStatus
  /** The exit code once `status` is "exited" (null while running or when killed by a signal). */
  exitCode: number | null
}

/** Where the daemon and the sync server are, and how to prove who you are. */
export type Endpoints =
  /** `tabula up`: daemon and sync server on one address. */
  | { url: string; daemonUrl?: undefined; syncUrl?: undefined }
  /** Components running apart. */
  | { url?: undefined; daemonUrl: string; syncUrl: string }

/** Anything shaped like the WHATWG WebSocket constructor (the browser's, or `ws` in Node). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket

export type ConnectOptions = Endpoints & {
  /** The secret from `<home>/token`. */
  token: string
  /** How other viewers see this one in presence and as a session's driver. */
  viewer?: ViewerInfo
  /**
   * Where offline edits and the last known key set are kept, so that a restarted viewer shows
   * its workspace (and keeps edits it made offline) before it can reach the servers.
   * A string names the place: in browsers an IndexedDB database prefix, in Node a directory.
   * `false` or absent: nothing is kept. A {@link StorageProvider} plugs in anything else.
   */
  storage?: string | StorageProvider | false
  /** The WebSocket constructor to use. Default: the global one, or the `ws` package in Node. */
  WebSocket?: WebSocketConstructor
  /** The fetch to use for the daemon's HTTP API. Default: the global one. */
  fetch?: typeof globalThis.fetch
  /**
   * How long a key must have been absent from the daemon's live set, as seen by this viewer
   * while it was connected to both servers, before this viewer removes the key's layout entry.
   * Default 60 000 ms. See docs/sdk.md, "Pruning".
   */
  pruneAfterMs?: number
}

export interface TabulaClient {
  /**
   * This viewer's id on the daemon's live channel, to compare with `Session.activeViewer` and
   * `SizeChange.activeViewer`. Null until the daemon has greeted this connection.
   */
  readonly viewerId: string | null
  /** The view of one workspace. Asking twice for the same id returns the same object. */
  workspace(id: string): WorkspaceView
  /**
   * Every workspace the daemon knows. Rejects with a `DaemonError` whose `status` is 401 or 403
   * when the token is missing or wrong, and with a `TypeError` when the daemon is unreachable.
   */
  workspaces(): Promise<WorkspaceInfo[]>
  /** Find-or-create the workspace of a folder (`id` adopts a known uuid); rejects like `workspaces()`. */
  ensureWorkspace(request: CreateWorkspaceRequest): Promise<WorkspaceInfo>
  /**
   * Forgets a workspace. Rejects with a `DaemonError` of status 409 while it has sessions (close
   * them first), 404 when the daemon does not know it.
   */
  removeWorkspace(id: string): Promise<void>
  /**
   * The live sessions of one workspace, read once from the daemon. No view is opened, so this
   * viewer does not appear in that workspace's presence: for tools that look something up.
   * Rejects like `workspaces()`, and with `status` 404 for a workspace the daemon does not know.
   */
  sessionsIn(workspace: string): Promise<Session[]>
  /** Closes every socket, writes pending offline state, and stops reconnecting. */
  close(): Promise<void>
}

/** Connection state of a workspace view, for a status bar. */
export interface WorkspaceStatus {
  /** The daemon's live channel is open. */
  daemon: 'online' | 'offline'
  /** The sync server's socket is open and the document has been exchanged. */
  sync: 'online' | 'offline'
  /** The key set shown is the last known one, not a fresh one from the daemon. */
  stale: boolean
  /** Layout edits were made that the sync server has not received yet. */
  pendingEdits: boolean
}

/** Another viewer (or this one) looking at the workspace, from the sync server's awareness. */
export interface PresenceEntry {
  /** The awareness client id (the viewer's Yjs client id). */
  clientId: number
  viewer: ViewerInfo
  /** That viewer's live-channel id, when it has one: match it with `Session.activeViewer`. */
  viewerId: string | null
  /** group -> key of the tab that viewer has selected in that group. */
  activeTabs: Record<string, string>
  /** True for this viewer's own entry. */
  self: boolean
}

export interface SpawnOptions {
  command?: string
  args?: string[]
  cwd?: string
  env?: Record<string, string>
  /** The group to place the tab in. Default: the first group. */
  group?: string
  /** Position in the group among the tabs shown there. Default: the end. */
  index?: number
  /** A custom title, set in the same step as the placement. */
  title?: string
  /** Spawn under this canonical key instead of a new `tab-<uuid>`. */
  key?: string
  cols?: number
  rows?: number
  closeOnExit?: boolean
}

export interface MoveTarget {
  /** Default: the tab's own group. */
  group?: string
  /** Position among the tabs shown in the target group. Default: the end. */
  index?: number
}

export interface WorkspaceEvents {
  /** `tabs()` or `layout()` would now return something else. */
  change: () => void
  status: (status: WorkspaceStatus) => void
  presence: (presence: PresenceEntry[]) => void
  /**
   * The sync server refused something this viewer sent, with its reason: a presence state past
   * a bound, a layout change from a watch-only device, an update past the document's size bound
   * (docs/sync.md, "Refusals"). What was refused is not shared; the rest goes on.
   */
  refused: (reason: string) => void
}

export interface WorkspaceView {
  readonly id: string
  /**
   * Resolves once the view can show something true: a key set (fresh from the daemon, or the
   * cached one when offline) and the layout (synced, or loaded from storage when offline).
   */
  readonly ready: Promise<void>
  /** Connection state; see {@link WorkspaceEvents.status}. */
  readonly status: WorkspaceStatus
  /**
   * The tabs, in group order then position: exactly the daemon's live keys (I2), placed by the
   * layout. Derived on demand; never stored.
   */
  tabs(): Tab[]
  /** The repaired layout (groups and split tree), for drawing panes. */
  layout(): LayoutView
  /** The live session records (status, exit code, program title, driver). */
  sessions(): Session[]
  on<E extends keyof WorkspaceEvents>(event: E, listener: WorkspaceEvents[E]): { dispose(): void }

  /** Creates a session at the daemon and places it; resolves to its key once it is a tab. */
  spawn(options?: SpawnOptions): Promise<string>
  /** Closes the session at the daemon and drops its layout entry. Closing a gone key is not an error. */
  close(key: string): Promise<void>
  /** Starts an exited session again under the same key, command, args and cwd; keeps its place. */
  restart(key: string): Promise<void>
  /** Moves a tab (local at once, then synced). */
  move(key: string, target: MoveTarget): void
  /** Sets the custom title; null clears it (local at once, then synced). */
  rename(key: string, title: string | null): void
  /**
   * Attaches a terminal (never spawns, never kills: I4, docs/architecture.md "Invariants").
   * `options.screenFirst`: the visible screen first, its scrollback right after (AttachOptions).
   */
  attach(key: string, options?: AttachOptions): TerminalHandle

  /** A new empty group beside the last one; returns its id. */
  createGroup(): string
  /** Splits `group` in direction `dir`; returns the new group's id. */
  splitGroup(group: string, dir: 'row' | 'column'): string
  /** Sets a pane node's share (0..1) of its parent split. */
  resizePane(nodeId: string, size: number): void
  /** Removes a group; its tabs move to the first remaining group. */
  closeGroup(group: string): void

  /** Selects a tab in its group, for this viewer only (published through awareness). */
  setActiveTab(key: string): void
  /** group -> the tab this viewer has selected there (the first tab when nothing valid is). */
  activeTabs(): Record<string, string>
  /**
   * The groups this viewer shows at the moment (null, the default: all of them). Presence
   * publishes the selection of these groups only, so a phone showing one tab at a time is not
   * reported as looking at every group's tab. `activeTabs()` still answers for every group.
   */
  setVisibleGroups(groups: readonly string[] | null): void
  /** Everyone looking at this workspace, this viewer included. */
  presence(): PresenceEntry[]

  /** The layout document itself, read-only by convention: for tools and tests. */
  readonly doc: Y.Doc
}

/**
 * Offline persistence. One provider serves every workspace of a client; `open` binds a store to
 * one workspace's document.
 */
export interface StorageProvider {
  open(workspaceId: string, doc: Y.Doc): WorkspaceStore
}

/** The saved state of one workspace: its layout document and the last key set seen. */
export interface WorkspaceStore {
  /** Resolves once the saved document state (if any) has been applied to the doc. */
  readonly loaded: Promise<void>
  readKeySet(): Promise<CachedKeySet | null>
  writeKeySet(keySet: CachedKeySet): void
  /**
   * Whether layout edits made here had not reached the sync server when last written, so that a
   * reload while offline still says they are waiting. Optional: a store without it forgets.
   */
  readPendingEdits?(): Promise<boolean>
  writePendingEdits?(pending: boolean): void
  /** Writes whatever is pending and stops saving. */
  close(): Promise<void>
}

/** The last key set a viewer saw, so that it can show something true while offline. */
export interface CachedKeySet {
  seq: number
  sessions: Session[]
  /** ISO 8601 time it was seen. */
  savedAt: string
}
