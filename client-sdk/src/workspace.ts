/**
 * One workspace as a viewer sees it: the daemon's key set (live channel) joined with the layout
 * document (sync server). Data flows one way: the daemon feeds the key set, the document feeds
 * the layout, and deriveTabs turns the two into tabs whenever either changes.
 */
import {
  closeGroup as closeLayoutGroup,
  createGroup as createLayoutGroup,
  initLayout,
  readLayout,
  removeTab,
  resizePane as resizeLayoutPane,
  splitGroup as splitLayoutGroup,
  titledKeys,
  newTabKey,
  DaemonError,
  type DaemonClient,
  type LayoutView,
  type Session,
  type ViewerInfo,
} from '@tabula/protocol'
import * as Y from 'yjs'
import type {
  CachedKeySet,
  MoveTarget,
  PresenceEntry,
  SpawnOptions,
  Tab,
  WorkspaceEvents,
  WorkspaceStatus,
  WorkspaceStore,
  StorageProvider,
  WorkspaceView,
  WebSocketConstructor,
} from './api.js'
import { deriveTabs } from './derive-tabs.js'
import { Emitter } from './emitter.js'
import { LiveKeySet } from './key-set.js'
import type { Disposable, LiveClient, LiveError, TerminalHandle } from './live/types.js'
import { dropTab, moveTab, placeNewTab, renameTab, type SeenState } from './edits.js'
import { ActiveTabs, publishPresence, readPresence } from './presence.js'
import { Pruner } from './pruner.js'
import { SyncChannel } from './sync-channel.js'

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

/** The origin of the SDK's pruning transactions (for tools that watch the document). */
export const PRUNE_ORIGIN = Symbol('tabula.prune')

/** How long a key-set change waits before it is written to storage (changes come in bursts). */
const KEY_SET_SAVE_DELAY_MS = 200

export class Workspace implements WorkspaceView {
  readonly id: string
  readonly doc = new Y.Doc()
  readonly ready: Promise<void>

  private readonly deps: WorkspaceDeps
  private readonly store: WorkspaceStore | null
  private readonly keySet: LiveKeySet
  private readonly sync: SyncChannel
  private readonly events = new Emitter<WorkspaceEvents>()
  private readonly pruner: Pruner
  private readonly activeChoice = new ActiveTabs()
  /** The groups this viewer shows; null: all of them. Only their selections are published. */
  private visibleGroups: ReadonlySet<string> | null = null
  private readonly disposers: Array<() => void> = []
  private readonly waiters = new Set<() => boolean>()

  private dirty = true
  /** The document changed since the layout was last read (key-set changes leave it as it is). */
  private layoutDirty = true
  private flushQueued = false
  private currentLayout: LayoutView | null = null
  private currentTabs: Tab[] = []
  private signature = ''
  private statusSignature = ''
  private presenceSignature = ''
  private pendingEdits = false
  private storeLoaded = false
  private cacheLoaded = false
  private isReady = false
  private closed = false
  private resolveReady!: () => void
  private rejectReady!: (error: Error) => void
  private pruneTimer: ReturnType<typeof setTimeout> | null = null
  private keySetSaveTimer: ReturnType<typeof setTimeout> | null = null
  private unsavedKeySet: CachedKeySet | null = null

  constructor(deps: WorkspaceDeps) {
    this.deps = deps
    this.id = deps.id
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve
      this.rejectReady = reject
    })
    // A program that never awaits `ready` must not crash on an unhandled rejection.
    this.ready.catch(() => {})
    this.pruner = new Pruner(deps.pruneAfterMs)
    this.keySet = new LiveKeySet(
      () => this.onKeySetChange(),
      (error) => this.onWatchRefused(error),
    )

    const onUpdate = (_u: Uint8Array, _origin: unknown, _doc: Y.Doc, transaction: Y.Transaction): void => {
      // Our own edits made while the socket is down wait for the next sync exchange.
      if (transaction.local && !this.sync?.connected) this.setPendingEdits(true)
      this.layoutDirty = true
      this.invalidate()
    }
    this.doc.on('update', onUpdate)
    this.disposers.push(() => this.doc.off('update', onUpdate))

    this.sync = new SyncChannel(this.doc, {
      syncUrl: deps.syncUrl,
      workspaceId: deps.id,
      token: deps.token,
      WebSocket: deps.WebSocket,
      onStateChange: () => {
        if (this.sync?.online) this.setPendingEdits(false)
        this.invalidate()
      },
    })
    const onAwareness = (): void => this.emitPresence()
    this.sync.awareness.on('change', onAwareness)
    this.disposers.push(() => this.sync.awareness.off('change', onAwareness))
    this.publishPresence()

    const watch: Disposable = deps.live.watch(deps.id, this.keySet.watcher)
    const liveState: Disposable = deps.live.onState((state) => {
      if (state !== 'open') this.keySet.markStale()
      this.publishPresence()
      this.invalidate()
    })
    this.disposers.push(
      () => watch.dispose(),
      () => liveState.dispose(),
    )

    this.store = deps.storage ? deps.storage.open(deps.id, this.doc) : null
    if (this.store) void this.loadStore(this.store)
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────

  tabs(): Tab[] {
    this.recompute()
    return this.currentTabs.map((t) => ({ ...t }))
  }

  layout(): LayoutView {
    this.recompute()
    return this.currentLayout!
  }

  sessions(): Session[] {
    return [...this.keySet.sessions.values()]
  }

  get status(): WorkspaceStatus {
    return {
      daemon: this.deps.live.state === 'open' ? 'online' : 'offline',
      sync: this.sync.online ? 'online' : 'offline',
      stale: !this.keySet.fresh,
      pendingEdits: this.pendingEdits,
    }
  }

  on<E extends keyof WorkspaceEvents>(event: E, listener: WorkspaceEvents[E]): { dispose(): void } {
    return this.events.on(event, listener)
  }

  presence(): PresenceEntry[] {
    return readPresence(this.sync.awareness)
  }

  activeTabs(): Record<string, string> {
    return this.activeChoice.resolve(this.tabs())
  }

  // ── sessions (the daemon decides) ────────────────────────────────────────────────────────────

  async spawn(options: SpawnOptions = {}): Promise<string> {
    const key = options.key ?? newTabKey()
    const wasLive = this.keySet.sessions.has(key)
    // Placed before the daemon is asked, so the tab appears where asked the moment it exists.
    // Until then the entry has no live key and nobody shows it (I7).
    this.edit(() => placeNewTab(this.doc, this.seen(), key, options))
    try {
      await this.deps.http.spawn(this.id, {
        key,
        ...(options.command !== undefined && { command: options.command }),
        ...(options.args !== undefined && { args: options.args }),
        ...(options.cwd !== undefined && { cwd: options.cwd }),
        ...(options.env !== undefined && { env: options.env }),
        ...(options.cols !== undefined && { cols: options.cols }),
        ...(options.rows !== undefined && { rows: options.rows }),
        ...(options.closeOnExit !== undefined && { closeOnExit: options.closeOnExit }),
      })
    } catch (error) {
      if (!wasLive) this.edit(() => dropTab(this.doc, key))
      throw error
    }
    await this.until(() => this.keySet.sessions.has(key))
    return key
  }

  async close(key: string): Promise<void> {
    await closeIfLive(this.deps.http, this.id, key)
    this.edit(() => dropTab(this.doc, key))
    await this.until(() => !this.keySet.sessions.has(key))
  }

  async restart(key: string): Promise<void> {
    const old = this.keySet.sessions.get(key)
    if (!old) throw new Error(`restart: "${key}" is not a live session of workspace ${this.id}`)
    // The layout entry stays: the key comes back at once, well within the pruning grace.
    await closeIfLive(this.deps.http, this.id, key)
    await this.deps.http.spawn(this.id, { key, command: old.command, args: old.args, cwd: old.cwd })
    await this.until(() => {
      const now = this.keySet.sessions.get(key)
      return now !== undefined && (now.pid !== old.pid || now.createdAt !== old.createdAt)
    })
  }

  attach(key: string): TerminalHandle {
    return this.deps.live.attach(key)
  }

  // ── layout edits (local first, then synced) ──────────────────────────────────────────────────

  move(key: string, target: MoveTarget): void {
    this.edit(() => moveTab(this.doc, this.seen(), key, target))
  }

  rename(key: string, title: string | null): void {
    this.edit(() => renameTab(this.doc, this.seen(), key, title))
  }

  createGroup(): string {
    let id = ''
    this.edit(() => {
      const groups = this.layout().groups
      id = createLayoutGroup(this.doc, groups[groups.length - 1])
    })
    return id
  }

  splitGroup(group: string, dir: 'row' | 'column'): string {
    let id = ''
    this.edit(() => (id = splitLayoutGroup(this.doc, group, dir)))
    return id
  }

  resizePane(nodeId: string, size: number): void {
    this.edit(() => resizeLayoutPane(this.doc, nodeId, size))
  }

  closeGroup(group: string): void {
    this.edit(() => closeLayoutGroup(this.doc, group))
  }

  // ── per-viewer selection ─────────────────────────────────────────────────────────────────────

  setActiveTab(key: string): void {
    const tab = this.tabs().find((t) => t.key === key)
    if (!tab) return
    this.activeChoice.select(tab.group, key, tab.index)
    this.publishPresence()
  }

  setVisibleGroups(groups: readonly string[] | null): void {
    this.visibleGroups = groups === null ? null : new Set(groups)
    this.publishPresence()
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────────

  async dispose(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.pruneTimer) clearTimeout(this.pruneTimer)
    if (this.keySetSaveTimer) {
      clearTimeout(this.keySetSaveTimer)
      this.saveKeySet()
    }
    for (const dispose of this.disposers.splice(0)) dispose()
    this.sync.close()
    for (const waiter of this.waiters) waiter()
    this.waiters.clear()
    this.events.clear()
    await this.store?.close()
    this.doc.destroy()
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────

  /** Runs layout writes in one transaction, then shows their result at once (local first). */
  private edit(write: () => void): void {
    if (this.closed) throw new Error(`workspace ${this.id} is closed`)
    this.doc.transact(() => {
      // Only on a document just exchanged with the server: "empty" then really means new. On a
      // document that is merely empty here (offline, never synced), a default group written now
      // could land beside the real tree; readers show a virtual default group meanwhile.
      if (this.sync.online) initLayout(this.doc)
      write()
    })
    this.dirty = true
    this.recompute()
  }

  private seen(): SeenState {
    this.recompute()
    return { layout: this.currentLayout!, tabs: this.currentTabs }
  }

  private async loadStore(store: WorkspaceStore): Promise<void> {
    try {
      await store.loaded
      const cache = await store.readKeySet()
      if (cache && !this.closed) {
        this.keySet.loadCache(cache)
        this.cacheLoaded = true
      }
      // Edits made before a reload that have still not reached the sync server are still waiting.
      if (!this.closed && !this.sync?.online && (await store.readPendingEdits?.())) this.pendingEdits = true
    } catch {
      // A broken store only costs the offline start; the servers still answer.
    }
    this.storeLoaded = true
    this.invalidate()
  }

  private onKeySetChange(): void {
    // Remember the set while it is fresh; write it a moment later (changes come in bursts), even
    // if the channel has dropped by then: it is still the last set the daemon confirmed.
    if (this.keySet.fresh && this.store) {
      this.unsavedKeySet = this.keySet.toCache()
      if (!this.keySetSaveTimer) {
        this.keySetSaveTimer = setTimeout(() => {
          this.keySetSaveTimer = null
          this.saveKeySet()
        }, KEY_SET_SAVE_DELAY_MS)
      }
    }
    this.invalidate()
  }

  /** The flag the status reports, kept in the store so that it survives a reload. */
  private setPendingEdits(pending: boolean): void {
    if (this.pendingEdits === pending) return
    this.pendingEdits = pending
    this.store?.writePendingEdits?.(pending)
  }

  private saveKeySet(): void {
    if (this.unsavedKeySet) this.store?.writeKeySet(this.unsavedKeySet)
    this.unsavedKeySet = null
  }

  /** Something changed: recompute soon, and tell listeners once per burst. */
  private invalidate(): void {
    this.dirty = true
    if (this.flushQueued || this.closed) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      if (!this.closed) this.flush()
    })
  }

  private recompute(): void {
    if (!this.dirty && this.currentLayout) return
    this.dirty = false
    // The repair depends on the document alone; a daemon update (a title at every prompt, a
    // resize) only re-derives the tabs.
    if (this.layoutDirty || !this.currentLayout) {
      this.layoutDirty = false
      this.currentLayout = readLayout(this.doc)
    }
    this.currentTabs = deriveTabs(this.keySet.sessions, this.currentLayout)
  }

  private flush(): void {
    this.recompute()
    const signature = JSON.stringify([this.currentTabs, this.currentLayout!.root, this.currentLayout!.groups])
    if (signature !== this.signature) {
      this.signature = signature
      this.events.emit('change')
      this.publishPresence()
    }
    const status = this.status
    const statusSignature = JSON.stringify(status)
    if (statusSignature !== this.statusSignature) {
      this.statusSignature = statusSignature
      this.events.emit('status', status)
    }
    for (const waiter of [...this.waiters]) if (waiter()) this.waiters.delete(waiter)
    this.checkReady()
    this.reviewPruning()
  }

  /** The daemon refused to show this workspace: `ready` fails with its reason instead of waiting forever. */
  private onWatchRefused(error: LiveError): void {
    if (this.isReady) return
    this.isReady = true
    const status = error.code === 'not_found' ? 404 : 400
    this.rejectReady(new DaemonError(status, error.code, `workspace ${this.id}: ${error.message}`, error.message))
  }

  private checkReady(): void {
    if (this.isReady) return
    const keysKnown = this.keySet.fresh || this.cacheLoaded
    const layoutKnown = this.sync.online || (this.storeLoaded && this.cacheLoaded)
    if (keysKnown && layoutKnown) {
      this.isReady = true
      this.resolveReady()
    }
  }

  /** Resolves when `done()` holds, or when the key set can no longer tell (offline, closed). */
  private until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.closed || !this.keySet.fresh || done()) {
          resolve()
          return true
        }
        return false
      }
      if (!check()) this.waiters.add(check)
    })
  }

  private reviewPruning(): void {
    if (this.pruneTimer) {
      clearTimeout(this.pruneTimer)
      this.pruneTimer = null
    }
    const online = this.keySet.fresh && this.sync.online
    const stored = new Set([...this.currentLayout!.placements.keys(), ...titledKeys(this.doc)])
    const due = this.pruner.review(online, this.keySet.sessions, stored)
    if (due.length > 0) {
      this.doc.transact(() => {
        for (const key of due) removeTab(this.doc, key)
      }, PRUNE_ORIGIN)
    }
    const next = this.pruner.nextDueIn()
    if (next !== null && !this.closed) {
      this.pruneTimer = setTimeout(() => {
        this.pruneTimer = null
        this.invalidate()
      }, next + 1)
    }
  }

  private publishPresence(): void {
    if (this.closed) return
    const state = {
      viewer: this.deps.viewer,
      viewerId: this.deps.live.viewerId,
      activeTabs: visibleOnly(this.activeChoice.resolve(this.currentTabs), this.visibleGroups),
    }
    const signature = JSON.stringify(state)
    if (signature === this.presenceSignature) return
    this.presenceSignature = signature
    publishPresence(this.sync.awareness, state)
  }

  private emitPresence(): void {
    this.events.emit('presence', this.presence())
  }
}

/** What others see of this viewer's selection: the groups it shows, or all of them. */
function visibleOnly(active: Record<string, string>, visible: ReadonlySet<string> | null): Record<string, string> {
  if (visible === null) return active
  return Object.fromEntries(Object.entries(active).filter(([group]) => visible.has(group)))
}

/** Closes a session; a key that is already gone is not an error (false). */
async function closeIfLive(http: DaemonClient, workspace: string, key: string): Promise<boolean> {
  try {
    await http.close(workspace, key)
    return true
  } catch (error) {
    if (error instanceof DaemonError && error.status === 404) return false
    throw error
  }
}
