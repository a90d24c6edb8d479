/**
 * What one open workspace page holds besides the DOM: the SDK workspace, the terminals it has
 * attached (one per tab it has shown, reused across re-renders), and presence lookups.
 */
import type { Client, PresenceEntry, Tab, Workspace } from './sdk.js'
import { TerminalView, type TerminalViewOptions } from './terminal-view.js'

export interface ViewerSessionOptions extends TerminalViewOptions {}

export class ViewerSession {
  private readonly views = new Map<string, TerminalView>()

  constructor(
    readonly client: Client,
    readonly ws: Workspace,
    readonly workspaceId: string,
    private readonly options: ViewerSessionOptions,
  ) {}

  /** The tab's terminal, attached on first use. */
  terminal(key: string): TerminalView {
    let view = this.views.get(key)
    if (!view) {
      view = new TerminalView(this.ws, key, () => this.client.viewerId, this.options)
      this.views.set(key, view)
    }
    return view
  }

  existingTerminal(key: string): TerminalView | undefined {
    return this.views.get(key)
  }

  /** Detaches terminals whose tab is gone (closed anywhere: here, another viewer, the CLI). */
  prune(tabs: Tab[]): void {
    const live = new Set(tabs.map((t) => t.key))
    for (const [key, view] of this.views) {
      if (!live.has(key)) {
        view.dispose()
        this.views.delete(key)
      }
    }
  }

  /** Other viewers whose current tab is `key`. */
  watchers(key: string): PresenceEntry[] {
    return this.others().filter((p) => activeKeys(p).includes(key))
  }

  others(): PresenceEntry[] {
    return this.ws.presence().filter((p) => !p.self)
  }

  /** The name of the viewer that drives, when presence tells which one it is. */
  driverName(viewerId: string | null): string | null {
    if (!viewerId) return null
    const entry = this.ws.presence().find((p) => p.viewerId === viewerId)
    if (!entry) return null
    return entry.self ? 'this viewer' : `${entry.viewer.name} (${entry.viewer.kind})`
  }

  /** Restart, Drive and the like need the daemon; layout edits do not. */
  get daemonOnline(): boolean {
    return this.ws.status.daemon !== 'offline'
  }

  /**
   * Disables the buttons under `root` marked `data-needs-daemon` while the daemon is unreachable
   * (instead of letting them fail with a toast), now and whenever the status changes.
   */
  guardOffline(root: HTMLElement): { apply(): void; dispose(): void } {
    const apply = () => {
      const online = this.daemonOnline
      for (const button of root.querySelectorAll<HTMLButtonElement>('button[data-needs-daemon]')) {
        if (button.dataset.onlineTitle === undefined) button.dataset.onlineTitle = button.title
        button.disabled = !online
        button.title = online ? button.dataset.onlineTitle : 'Needs the connection to tabula: waiting for it to come back'
      }
    }
    apply()
    const sub = this.ws.on('status', apply)
    return { apply, dispose: () => sub.dispose() }
  }

  dispose(): void {
    for (const view of this.views.values()) view.dispose()
    this.views.clear()
  }
}

/** The tabs a viewer has selected, one per group. */
export function activeKeys(entry: PresenceEntry): string[] {
  return Object.values(entry.activeTabs)
}
