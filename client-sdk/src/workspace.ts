/**
 * One workspace as a viewer sees it: the daemon's key set (live channel) joined with the layout
 * document (sync server). Data flows one way: the daemon feeds the key set, the document feeds
 * the layout, and deriveTabs turns the two into tabs whenever either changes.
 *
 * This class wires small collaborators, each with one job (docs/sdk.md, "Inside a workspace
 * view"): the key set (LiveKeySet), and in workspace/ the derived tabs (TabView), the way layout
 * edits are written (LayoutEditor; the edits themselves are edits.ts), session commands
 * (SessionCommands), what survives a reload (OfflineState), pruning (LayoutPruning), waits on the
 * key set (Waits) and `ready` (Readiness); presence (PresencePublisher) is in presence.ts. What
 * is left here is telling listeners, once per burst, that something changed.
 */
import {
  closeGroup,
  createGroup,
  DaemonError,
  Emitter,
  resizePane,
  splitGroup,
  type DaemonClient,
  type LayoutView,
  type Session,
  type ViewerInfo,
} from '@tabula/protocol'
import * as Y from 'yjs'
import type {
  MoveTarget,
  PresenceEntry,
  SpawnOptions,
  StorageProvider,
  Tab,
  WebSocketConstructor,
  WorkspaceEvents,
  WorkspaceStatus,
  WorkspaceView,
} from './api.js'
import { moveTab, renameTab } from './edits.js'
import { LiveKeySet } from './key-set.js'
import type { AttachOptions, LiveClient, LiveError, TerminalHandle } from './live/types.js'
import { PresencePublisher, readPresence } from './presence.js'
import { SyncChannel } from './sync-channel.js'
import { LayoutEditor } from './workspace/layout-editor.js'
import { OfflineState } from './workspace/offline-state.js'
import { LayoutPruning } from './workspace/pruning.js'
import { Readiness } from './workspace/readiness.js'
import { sessionCommands, type SessionCommands } from './workspace/session-commands.js'
import { TabView } from './workspace/tab-view.js'
import { Waits } from './workspace/waits.js'

export interface WorkspaceDeps {
  id: string
  live: LiveClient
  http: DaemonClient
  syncUrl: string
  token: string
  WebSocket: WebSocketConstructor
  viewer: ViewerInfo
  storage: StorageProvider | null
  pruneAfterMs: number
}

export class Workspace implements WorkspaceView {
  readonly id: string
  readonly doc = new Y.Doc()
  readonly ready: Promise<void>

  readonly #live: LiveClient
  readonly #keySet: LiveKeySet
  readonly #sync: SyncChannel
  readonly #view: TabView
  readonly #editor: LayoutEditor
  readonly #commands: SessionCommands
  readonly #presence: PresencePublisher
  readonly #offline = new OfflineState()
  readonly #pruning: LayoutPruning
  readonly #readiness = new Readiness()
  readonly #waits: Waits
  readonly #events = new Emitter<WorkspaceEvents>()
  readonly #disposers: Array<() => void> = []
  #flushQueued = false
  #signature = ''
  #statusSignature = ''
  #closed = false

  constructor(deps: WorkspaceDeps) {
    this.id = deps.id
    this.ready = this.#readiness.promise
    this.#live = deps.live
    this.#pruning = new LayoutPruning(this.doc, deps.pruneAfterMs, () => this.#invalidate())
    this.#keySet = new LiveKeySet(
      () => this.#onKeySetChange(),
      (error) => this.#onWatchRefused(error),
    )
    this.#view = new TabView(this.doc, this.#keySet.sessions)

    const onUpdate = (_u: Uint8Array, _origin: unknown, _doc: Y.Doc, transaction: Y.Transaction): void => {
      // Our own edits made while the socket is down wait for the next sync exchange.
      if (transaction.local && !this.#sync?.connected) this.#offline.setPendingEdits(true)
      this.#view.documentChanged()
      this.#invalidate()
    }
    this.doc.on('update', onUpdate)
    this.#disposers.push(() => this.doc.off('update', onUpdate))

    this.#sync = new SyncChannel(this.doc, {
      syncUrl: deps.syncUrl,
      workspaceId: deps.id,
      token: deps.token,
      WebSocket: deps.WebSocket,
      onStateChange: () => {
        // Also called while the channel is being built, before #sync is set.
        if (this.#sync?.online) this.#offline.setPendingEdits(false)
        this.#invalidate()
      },
      onRefused: (reason) => this.#events.emit('refused', reason),
    })
    this.#editor = new LayoutEditor(this.doc, this.#view, () => this.#sync.online)
    this.#waits = new Waits(() => this.#closed || !this.#keySet.fresh)
    this.#commands = sessionCommands(
      deps.id,
      deps.http,
      this.#keySet,
      { doc: this.doc, view: this.#view, editor: this.#editor },
      this.#waits,
    )
    this.#presence = new PresencePublisher(this.#sync.awareness, deps.viewer, () => deps.live.viewerId)

    const onAwareness = (): void => this.#events.emit('presence', this.presence())
    this.#sync.awareness.on('change', onAwareness)
    this.#disposers.push(() => this.#sync.awareness.off('change', onAwareness))
    this.#publishPresence()

    const watch = deps.live.watch(deps.id, this.#keySet.watcher)
    const liveState = deps.live.onState((state) => {
      if (state !== 'open') this.#keySet.markStale()
      this.#publishPresence()
      this.#invalidate()
    })
    this.#disposers.push(
      () => watch.dispose(),
      () => liveState.dispose(),
    )

    const store = deps.storage?.open(deps.id, this.doc)
    if (store) {
      void this.#offline
        .open(
          store,
          this.#keySet,
          () => this.#closed,
          () => this.#sync.online,
        )
        .then(() => this.#invalidate())
    }
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────

  tabs(): Tab[] {
    return this.#view.seen().tabs.map((t) => ({ ...t }))
  }

  layout(): LayoutView {
    return this.#view.seen().layout
  }

  sessions(): Session[] {
    return [...this.#keySet.sessions.values()]
  }

  get status(): WorkspaceStatus {
    return {
      daemon: this.#live.state === 'open' ? 'online' : 'offline',
      sync: this.#sync.online ? 'online' : 'offline',
      stale: !this.#keySet.fresh,
      pendingEdits: this.#offline.pendingEdits,
    }
  }

  on<E extends keyof WorkspaceEvents>(event: E, listener: WorkspaceEvents[E]): { dispose(): void } {
    return this.#events.on(event, listener)
  }

  presence(): PresenceEntry[] {
    return readPresence(this.#sync.awareness)
  }

  activeTabs(): Record<string, string> {
    return this.#presence.activeTabs(this.tabs())
  }

  // ── sessions (the daemon decides) ────────────────────────────────────────────────────────────

  spawn(options: SpawnOptions = {}): Promise<string> {
    return this.#commands.spawn(options)
  }

  close(key: string): Promise<void> {
    return this.#commands.close(key)
  }

  restart(key: string): Promise<void> {
    return this.#commands.restart(key)
  }

  attach(key: string, options?: AttachOptions): TerminalHandle {
    return this.#live.attach(key, options)
  }

  // ── layout edits (local first, then synced) ──────────────────────────────────────────────────

  move(key: string, target: MoveTarget): void {
    this.#editor.edit(() => moveTab(this.doc, this.#view.seen(), key, target))
  }

  rename(key: string, title: string | null): void {
    this.#editor.edit(() => renameTab(this.doc, this.#view.seen(), key, title))
  }

  createGroup(): string {
    return this.#editor.edit(() => {
      const groups = this.layout().groups
      return createGroup(this.doc, groups[groups.length - 1])
    })
  }

  splitGroup(group: string, dir: 'row' | 'column'): string {
    return this.#editor.edit(() => splitGroup(this.doc, group, dir))
  }

  resizePane(nodeId: string, size: number): void {
    this.#editor.edit(() => resizePane(this.doc, nodeId, size))
  }

  closeGroup(group: string): void {
    this.#editor.edit(() => closeGroup(this.doc, group))
  }

  // ── per-viewer selection ─────────────────────────────────────────────────────────────────────

  setActiveTab(key: string): void {
    const tab = this.tabs().find((t) => t.key === key)
    if (!tab) return
    this.#presence.select(tab)
    this.#publishPresence()
  }

  setVisibleGroups(groups: readonly string[] | null): void {
    this.#presence.setVisibleGroups(groups)
    this.#publishPresence()
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────────

  async dispose(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#editor.close(`workspace ${this.id} is closed`)
    this.#pruning.stop()
    for (const dispose of this.#disposers.splice(0)) dispose()
    this.#sync.close()
    this.#waits.releaseAll()
    this.#events.clear()
    await this.#offline.close()
    this.doc.destroy()
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────

  #onKeySetChange(): void {
    this.#offline.keySetChanged(this.#keySet)
    this.#invalidate()
  }

  /** The daemon refused to show this workspace: `ready` fails with its reason instead of waiting forever. */
  #onWatchRefused(error: LiveError): void {
    const status = error.code === 'not_found' ? 404 : 400
    this.#readiness.reject(new DaemonError(status, error.code, `workspace ${this.id}: ${error.message}`, error.message))
  }

  /** Something changed: derive again soon, and tell listeners once per burst. */
  #invalidate(): void {
    this.#view.markStale()
    if (this.#flushQueued || this.#closed) return
    this.#flushQueued = true
    queueMicrotask(() => {
      this.#flushQueued = false
      if (!this.#closed) this.#flush()
    })
  }

  #flush(): void {
    const { tabs, layout } = this.#view.seen()
    const signature = JSON.stringify([tabs, layout.root, layout.groups])
    if (signature !== this.#signature) {
      this.#signature = signature
      this.#events.emit('change')
      this.#publishPresence()
    }
    const status = this.status
    const statusSignature = JSON.stringify(status)
    if (statusSignature !== this.#statusSignature) {
      this.#statusSignature = statusSignature
      this.#events.emit('status', status)
    }
    this.#waits.check()
    this.#checkReady()
    // The layout as it is now: a listener told of the change may have edited it since.
    this.#pruning.review(this.#keySet.fresh && this.#sync.online, this.#keySet.sessions, this.#view.seen().layout)
  }

  #checkReady(): void {
    if (this.#readiness.settled) return
    const keysKnown = this.#keySet.fresh || this.#offline.cacheLoaded
    const layoutKnown = this.#sync.online || (this.#offline.loaded && this.#offline.cacheLoaded)
    if (keysKnown && layoutKnown) this.#readiness.resolve()
  }

  #publishPresence(): void {
    if (!this.#closed) this.#presence.publish(this.#view.lastTabs)
  }
}

export { PRUNE_ORIGIN } from './workspace/pruning.js'
