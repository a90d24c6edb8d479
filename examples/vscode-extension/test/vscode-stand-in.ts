/**
 * A small stand-in for the parts of the `vscode` module the mirror uses: EventEmitter and
 * window.createTerminal. Like VS Code, it opens a Pseudoterminal right after creating its
 * terminal, keeps terminals in creation order, and calls `close()` on the pty when a terminal
 * is disposed. What the terminal displays is recorded as text.
 */
import type * as vscode from 'vscode'

type Listener<T> = (value: T) => void

export class EventEmitter<T> {
  private readonly listeners = new Set<Listener<T>>()
  readonly event = ((listener: Listener<T>) => {
    this.listeners.add(listener)
    return { dispose: () => this.listeners.delete(listener) }
  }) as unknown as vscode.Event<T>
  fire(value: T): void {
    for (const l of [...this.listeners]) l(value)
  }
  dispose(): void {
    this.listeners.clear()
  }
}

export class FakeTerminal {
  name: string
  output = ''
  disposed = false
  overridden: vscode.TerminalDimensions | undefined
  constructor(
    readonly pty: vscode.Pseudoterminal,
    name: string,
    private readonly list: FakeTerminal[],
  ) {
    this.name = name
    pty.onDidWrite((data) => (this.output += data))
    pty.onDidChangeName?.((n) => (this.name = n))
    pty.onDidOverrideDimensions?.((d) => (this.overridden = d))
    pty.onDidClose?.(() => this.remove())
  }
  /** The person typing into the terminal. */
  type(text: string): void {
    this.pty.handleInput?.(text)
  }
  /** The person closing the terminal (trash icon). */
  closeByUser(): void {
    this.remove()
    this.pty.close()
  }
  /** The extension disposing it. */
  dispose(): void {
    if (this.disposed) return
    this.remove()
    this.pty.close()
  }
  private remove(): void {
    this.disposed = true
    const i = this.list.indexOf(this)
    if (i >= 0) this.list.splice(i, 1)
  }
}

export function createStandIn(dimensions: vscode.TerminalDimensions = { columns: 90, rows: 20 }) {
  const terminals: FakeTerminal[] = []
  const created = { count: 0 }
  const window = {
    createTerminal(options: vscode.ExtensionTerminalOptions): vscode.Terminal {
      created.count++
      const terminal = new FakeTerminal(options.pty, options.name, terminals)
      terminals.push(terminal)
      options.pty.open(dimensions)
      return terminal as unknown as vscode.Terminal
    },
  }
  return {
    api: { window: window as unknown as typeof vscode.window, EventEmitter: EventEmitter as unknown as typeof vscode.EventEmitter },
    terminals,
    /** How many terminals were ever created. */
    created,
    names: () => terminals.map((t) => t.name),
  }
}

/** VS Code's TreeItem, DataTransfer and friends, as far as the tree view uses them. */
export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class TreeItem {
  id?: string
  description?: string
  tooltip?: string
  contextValue?: string
  command?: vscode.Command
  constructor(
    readonly label: string,
    readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

export class DataTransferItem {
  constructor(readonly value: unknown) {}
  async asString(): Promise<string> {
    return typeof this.value === 'string' ? this.value : JSON.stringify(this.value)
  }
}

export class DataTransfer {
  private readonly items = new Map<string, DataTransferItem>()
  get(mime: string): DataTransferItem | undefined {
    return this.items.get(mime.toLowerCase())
  }
  set(mime: string, item: DataTransferItem): void {
    this.items.set(mime.toLowerCase(), item)
  }
}

export const treeApi = {
  EventEmitter: EventEmitter as unknown as typeof vscode.EventEmitter,
  TreeItem: TreeItem as unknown as typeof vscode.TreeItem,
  TreeItemCollapsibleState: TreeItemCollapsibleState as unknown as typeof vscode.TreeItemCollapsibleState,
  DataTransferItem: DataTransferItem as unknown as typeof vscode.DataTransferItem,
}
