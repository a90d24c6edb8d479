/**
 * Mirrors one tabula workspace into VS Code's terminal list: one terminal per tab, backed by a
 * Pseudoterminal attached through the SDK, in the order the shared layout gives.
 *
 * What VS Code allows (and so what this does):
 * - Extensions cannot reorder terminals; a new terminal always goes to the end of the list. So
 *   each terminal is created once, when its tab first appears, and stays where VS Code put it:
 *   re-creating terminals to follow a reorder made them flicker and lose their scroll position
 *   and focus. The layout's order is shown in the "tabula tabs" tree view instead (tree.ts),
 *   where a drag and drop writes the order for every viewer.
 * - A rename is applied in place through `Pseudoterminal.onDidChangeName`.
 * - When the person closes one of these terminals, the session is NOT ended (other viewers may
 *   be using it); the tab is hidden in this editor until "tabula: Show All Tabs". "tabula: Close
 *   Tab" ends the session for everyone.
 * - Only the driving viewer's size reaches the PTY (I5, docs/architecture.md "Invariants"): typing
 *   in a terminal makes this editor drive; while another viewer drives, the terminal is held to the
 *   PTY's size through `onDidOverrideDimensions` (VS Code only ever shrinks a terminal that way).
 *
 * The `vscode` module is passed in rather than imported, so tests can run this logic against a
 * small stand-in of the API without an editor.
 */
import type * as vscode from 'vscode'
import type { Tab, TabulaClient, TerminalHandle, WorkspaceView } from '@tabula/client-sdk'

/** The parts of the `vscode` module this file uses. */
export type EditorApi = {
  window: Pick<typeof vscode.window, 'createTerminal'>
  EventEmitter: typeof vscode.EventEmitter
}

interface Entry {
  key: string
  /** The name last given to the terminal (title plus " (exited)"), to notice any change of it. */
  name: string
  terminal: vscode.Terminal
  pty: TabPty
}

export class TerminalMirror {
  private entries: Entry[] = []
  /** Tabs whose terminal the person closed here: not shown again until showAll(). */
  private readonly hidden = new Set<string>()
  private readonly subscription: { dispose(): void }
  private disposed = false

  constructor(
    private readonly api: EditorApi,
    private readonly client: TabulaClient,
    readonly ws: WorkspaceView,
    private readonly prefix = '',
  ) {
    this.subscription = ws.on('change', () => this.sync())
    this.sync()
  }

  /** The keys shown, in VS Code's terminal order (creation order; the layout's is in the tree). */
  keys(): string[] {
    return this.entries.map((e) => e.key)
  }

  keyOf(terminal: vscode.Terminal): string | undefined {
    return this.entries.find((e) => e.terminal === terminal)?.key
  }

  showAll(): void {
    this.hidden.clear()
    this.sync()
  }

  /**
   * Brings VS Code's terminal list in line with `ws.tabs()`: a terminal for each new tab, none for
   * a tab gone, renames in place. Never re-creates a terminal (see above).
   */
  sync(): void {
    if (this.disposed) return
    const tabs = this.ws.tabs().filter((t) => !this.hidden.has(t.key))
    const live = new Map(tabs.map((t) => [t.key, t]))
    for (const entry of this.entries.filter((e) => !live.has(e.key))) this.remove(entry)
    this.entries = this.entries.filter((e) => live.has(e.key))
    for (const entry of this.entries) {
      const name = this.name(live.get(entry.key)!)
      if (name !== entry.name) {
        entry.name = name
        entry.pty.rename(name)
      }
    }
    const shown = new Set(this.entries.map((e) => e.key))
    for (const tab of tabs) if (!shown.has(tab.key)) this.entries.push(this.create(tab))
  }

  /** The terminal of a tab, for "show this tab" from the tree view. */
  terminalOf(key: string): vscode.Terminal | undefined {
    return this.entries.find((e) => e.key === key)?.terminal
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.subscription.dispose()
    for (const entry of this.entries.splice(0)) this.remove(entry)
  }

  private name(tab: Tab): string {
    return this.prefix + tab.title + (tab.status === 'exited' ? ' (exited)' : '')
  }

  private create(tab: Tab): Entry {
    const pty = new TabPty(this.api, this.client, this.ws, tab.key, () => {
      // The person closed it: keep the session, hide the tab here.
      this.hidden.add(tab.key)
      this.entries = this.entries.filter((e) => e.pty !== pty)
    })
    const name = this.name(tab)
    const terminal = this.api.window.createTerminal({ name, pty, isTransient: true })
    return { key: tab.key, name, terminal, pty }
  }

  private remove(entry: Entry): void {
    entry.pty.detachQuietly()
    entry.terminal.dispose()
  }
}

/** One tab as a VS Code Pseudoterminal. Attaches when VS Code opens it, detaches on close. */
export class TabPty implements vscode.Pseudoterminal {
  private readonly writeEmitter: vscode.EventEmitter<string>
  private readonly nameEmitter: vscode.EventEmitter<string>
  private readonly closeEmitter: vscode.EventEmitter<number | undefined>
  private readonly dimensionsEmitter: vscode.EventEmitter<vscode.TerminalDimensions | undefined>
  readonly onDidWrite: vscode.Event<string>
  readonly onDidChangeName: vscode.Event<string>
  readonly onDidClose: vscode.Event<number | undefined>
  readonly onDidOverrideDimensions: vscode.Event<vscode.TerminalDimensions | undefined>
  private handle: TerminalHandle | null = null
  private size: vscode.TerminalDimensions | undefined
  private driving = false
  private quiet = false

  constructor(
    api: EditorApi,
    private readonly client: TabulaClient,
    private readonly ws: WorkspaceView,
    readonly key: string,
    private readonly onUserClose: () => void,
  ) {
    this.writeEmitter = new api.EventEmitter<string>()
    this.nameEmitter = new api.EventEmitter<string>()
    this.closeEmitter = new api.EventEmitter<number | undefined>()
    this.dimensionsEmitter = new api.EventEmitter<vscode.TerminalDimensions | undefined>()
    this.onDidWrite = this.writeEmitter.event
    this.onDidChangeName = this.nameEmitter.event
    this.onDidClose = this.closeEmitter.event
    this.onDidOverrideDimensions = this.dimensionsEmitter.event
  }

  open(initialDimensions: vscode.TerminalDimensions | undefined): void {
    this.size = initialDimensions
    const handle = this.ws.attach(this.key)
    this.handle = handle
    handle.onData((data) => {
      this.writeEmitter.fire(data)
    })
    handle.onSize(({ cols, rows, activeViewer }) => {
      const driving = activeViewer !== null && activeViewer === this.client.viewerId
      if (driving && !this.driving && this.size) handle.resize(this.size.columns, this.size.rows)
      this.driving = driving
      // While someone else drives, hold this terminal to the PTY's size so lines wrap as there.
      this.dimensionsEmitter.fire(driving ? undefined : { columns: cols, rows })
    })
    handle.onExit((code) => this.writeEmitter.fire(`\r\n\x1b[2m[process exited with code ${code ?? 'unknown'}]\x1b[0m\r\n`))
    handle.onClosed(() => {
      if (!this.quiet) this.closeEmitter.fire(undefined)
    })
  }

  handleInput(data: string): void {
    // Input makes this viewer the driver at the daemon; its size follows in onSize.
    this.handle?.write(data)
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.size = dimensions
    if (this.driving) this.handle?.resize(dimensions.columns, dimensions.rows)
  }

  close(): void {
    const byUser = !this.quiet
    this.detachQuietly()
    if (byUser) this.onUserClose()
  }

  rename(name: string): void {
    this.nameEmitter.fire(name)
  }

  /** Detach without treating it as the person's close (the mirror is re-creating or leaving). */
  detachQuietly(): void {
    this.quiet = true
    this.handle?.dispose()
    this.handle = null
  }
}
