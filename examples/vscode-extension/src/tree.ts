/**
 * The "tabula tabs" tree view: the workspace's tabs in the shared layout's order, group by group
 * (VS Code's own terminal list cannot be reordered by an extension, so the order lives here).
 * Dragging tabs and dropping them writes the layout through the SDK (`ws.move`), so every viewer
 * sees the new order; a click shows the tab's terminal.
 *
 * Drop rules, as in VS Code's own trees: onto a tab, the dragged tabs go just before it, in its
 * group; onto a group, to the end of that group; onto empty space, to the end of the last group.
 *
 * Like mirror.ts, the `vscode` module is passed in, so tests run this against a stand-in.
 */
import type * as vscode from 'vscode'
import type { Tab, WorkspaceView } from '@tabula/client-sdk'

export const TAB_MIME = 'application/vnd.code.tree.tabula.tabs'
export const SHOW_TAB_COMMAND = 'tabula.showTab'

export type TreeApi = {
  EventEmitter: typeof vscode.EventEmitter
  TreeItem: typeof vscode.TreeItem
  TreeItemCollapsibleState: typeof vscode.TreeItemCollapsibleState
  DataTransferItem: typeof vscode.DataTransferItem
}

export type TabNode = { type: 'group'; group: string; position: number } | { type: 'tab'; tab: Tab }

export class TabsTree implements vscode.TreeDataProvider<TabNode>, vscode.TreeDragAndDropController<TabNode> {
  readonly dragMimeTypes = [TAB_MIME]
  readonly dropMimeTypes = [TAB_MIME]
  private readonly changed: vscode.EventEmitter<void>
  readonly onDidChangeTreeData: vscode.Event<void>
  private readonly subscription: { dispose(): void }

  constructor(
    private readonly api: TreeApi,
    readonly ws: WorkspaceView,
  ) {
    this.changed = new api.EventEmitter<void>()
    this.onDidChangeTreeData = this.changed.event
    this.subscription = ws.on('change', () => this.changed.fire())
  }

  getChildren(node?: TabNode): TabNode[] {
    const groups = this.ws.layout().groups
    const tabs = this.ws.tabs()
    const inGroup = (group: string): TabNode[] =>
      tabs
        .filter((t) => t.group === group)
        .sort((a, b) => a.index - b.index)
        .map((tab) => ({ type: 'tab', tab }))
    if (node?.type === 'group') return inGroup(node.group)
    if (node) return []
    // One group: the tabs themselves, with no level in between.
    if (groups.length <= 1) return groups[0] ? inGroup(groups[0]) : []
    return groups.map((group, position) => ({ type: 'group', group, position }))
  }

  getTreeItem(node: TabNode): vscode.TreeItem {
    const { TreeItem, TreeItemCollapsibleState } = this.api
    if (node.type === 'group') {
      const item = new TreeItem(`Group ${node.position + 1}`, TreeItemCollapsibleState.Expanded)
      item.id = `group:${node.group}`
      item.contextValue = 'tabula.group'
      return item
    }
    const { tab } = node
    const item = new TreeItem(tab.title, TreeItemCollapsibleState.None)
    item.id = tab.key
    item.description = tab.status === 'exited' ? `exited (${tab.exitCode ?? 'signal'})` : tab.kind === 'terminal' ? '' : tab.kind
    item.tooltip = `${tab.title}\n${tab.key}`
    item.contextValue = 'tabula.tab'
    item.command = { command: SHOW_TAB_COMMAND, title: 'Show', arguments: [tab.key] }
    return item
  }

  handleDrag(source: readonly TabNode[], dataTransfer: vscode.DataTransfer): void {
    const keys = source.flatMap((n) => (n.type === 'tab' ? [n.tab.key] : []))
    if (keys.length) dataTransfer.set(TAB_MIME, new this.api.DataTransferItem(keys.join('\n')))
  }

  async handleDrop(target: TabNode | undefined, dataTransfer: vscode.DataTransfer): Promise<void> {
    const item = dataTransfer.get(TAB_MIME)
    if (!item) return
    const live = new Set(this.ws.tabs().map((t) => t.key))
    const keys = String(await item.asString())
      .split('\n')
      .filter((k) => live.has(k))
    // Dropped onto one of the dragged tabs: nothing to move.
    if (!keys.length || (target?.type === 'tab' && keys.includes(target.tab.key))) return
    const groups = this.ws.layout().groups
    const group = target?.type === 'tab' ? target.tab.group : target?.type === 'group' ? target.group : groups[groups.length - 1]
    if (!group) return
    // Where the dropped tabs start, counted among the group's tabs that are not being moved.
    const others = this.ws
      .tabs()
      .filter((t) => t.group === group && !keys.includes(t.key))
      .sort((a, b) => a.index - b.index)
    let index = target?.type === 'tab' ? others.findIndex((t) => t.key === target.tab.key) : others.length
    if (index < 0) index = others.length
    for (const key of keys) this.ws.move(key, { group, index: index++ })
  }

  dispose(): void {
    this.subscription.dispose()
    this.changed.dispose()
  }
}
