/**
 * The extension's logic against a real `tabula up` and the real SDK; only the editor is a
 * stand-in (vscode-stand-in.ts).
 */
import { until } from '../../../test/helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type TabulaClient, type WorkspaceView } from '@tabula/client-sdk'
import { startWorkspace, TEST_SHELL, type TestWorkspace } from '../../../test/helpers/workspace.js'
import { TerminalMirror } from '../src/mirror.js'
import { TabsTree } from '../src/tree.js'
import { createStandIn, DataTransfer, treeApi, type FakeTerminal } from './vscode-stand-in.js'

let setup: TestWorkspace
let editor: TabulaClient
let setupWs: WorkspaceView
let editorWs: WorkspaceView
let workspaceId: string
let keys: Record<string, string>

beforeAll(async () => {
  // Another viewer (standing in for a browser) edits; the editor's own client mirrors.
  setup = await startWorkspace({ titles: ['api', 'web', 'db'] })
  ;({ workspaceId, keys, ws: setupWs } = setup)
  editor = await connect({ url: setup.tabula.url, token: setup.tabula.token, viewer: { name: 'VS Code', kind: 'editor' } })
  editorWs = editor.workspace(workspaceId)
  await editorWs.ready
})

afterAll(async () => {
  await editor?.close()
  await setup?.stop()
})

describe('VS Code extension: one terminal per tab, created once; the layout order in a tree view', () => {
  const vscode = createStandIn()
  let mirror: TerminalMirror
  const byName = (name: string): FakeTerminal => vscode.terminals.find((t) => t.name === name)!

  it('creates a terminal per tab, in the layout order at the start, and shows each screen', async () => {
    mirror = new TerminalMirror(vscode.api, editor, editorWs)
    await until('three terminals', () => vscode.terminals.length === 3)
    expect(vscode.names()).toEqual(['api', 'web', 'db'])
    byName('web').type('echo in-web-$((2*21))\r')
    await until('the command output', () => byName('web').output.includes('in-web-42'))
  })

  it('keeps every terminal through a reorder made by another viewer: each is created once', async () => {
    const before = [...vscode.terminals]
    const tree = new TabsTree(treeApi, editorWs)
    const treeTitles = () => tree.getChildren().map((n) => (n.type === 'tab' ? n.tab.title : `group ${n.position}`))
    let treeChanges = 0
    tree.onDidChangeTreeData(() => treeChanges++)
    setupWs.move(keys.db!, { index: 0 })
    // The tree view shows the layout's new order...
    await until('the tree shows the new order', () => treeTitles().join() === 'db,api,web')
    expect(treeChanges).toBeGreaterThan(0)
    // ...while the terminals stay as they are: none disposed, none created again, same output.
    expect(vscode.terminals).toEqual(before)
    expect(before.every((t) => !t.disposed)).toBe(true)
    expect(vscode.created.count).toBe(3)
    // The command's output shows once: a re-created terminal would have replayed the screen.
    expect(byName('web').output.split('in-web-42').length).toBe(2)
    tree.dispose()
  })

  it("the tree view's drag and drop writes the layout, for every viewer", async () => {
    const tree = new TabsTree(treeApi, editorWs)
    const node = (title: string) => tree.getChildren().find((n) => n.type === 'tab' && n.tab.title === title)!
    // Drag "web" onto "db" (the first): it goes before it.
    const transfer = new DataTransfer()
    tree.handleDrag([node('web')], transfer as unknown as import('vscode').DataTransfer)
    await tree.handleDrop(node('db'), transfer as unknown as import('vscode').DataTransfer)
    const order = () =>
      setupWs
        .tabs()
        .map((t) => t.title)
        .join()
    await until('the other viewer sees web first', () => order() === 'web,db,api')
    // Onto a group (after a split, as a browser would make one): to the end of that group.
    const second = setupWs.splitGroup(setupWs.layout().groups[0]!, 'row')
    await until('two groups in the tree', () => tree.getChildren().filter((n) => n.type === 'group').length === 2)
    const groupNode = tree.getChildren().find((n) => n.type === 'group' && n.group === second)!
    const again = new DataTransfer()
    const firstGroup = tree.getChildren()[0]!
    const webNode = tree.getChildren(firstGroup).find((n) => n.type === 'tab' && n.tab.title === 'web')!
    tree.handleDrag([webNode], again as unknown as import('vscode').DataTransfer)
    await tree.handleDrop(groupNode, again as unknown as import('vscode').DataTransfer)
    await until('web is in the second group everywhere', () => setupWs.tabs().find((t) => t.title === 'web')?.group === second)
    expect(tree.getTreeItem(groupNode).label).toBe('Group 2')
    // Still the same three terminals.
    expect(vscode.created.count).toBe(3)
    setupWs.move(keys.web!, { group: setupWs.layout().groups[0]!, index: 0 })
    setupWs.closeGroup(second)
    await until('back to one group', () => tree.getChildren().every((n) => n.type === 'tab'))
    tree.dispose()
  })

  it('renames in place', async () => {
    const db = byName('db')
    setupWs.rename(keys.db!, 'postgres')
    await until('renamed', () => vscode.names().join() === 'api,web,postgres')
    expect(byName('postgres')).toBe(db)
    expect(db.disposed).toBe(false)
  })

  it('adds a tab spawned elsewhere and drops a tab closed elsewhere', async () => {
    const key = await setupWs.spawn({ ...TEST_SHELL, title: 'worker' })
    await until('added', () => vscode.names().join() === 'api,web,postgres,worker')
    await setupWs.close(key)
    await until('removed', () => vscode.names().join() === 'api,web,postgres')
  })

  it('marks a terminal "(exited)" in place when its program ends', async () => {
    // The program waits for a line, so the terminal exists (running) before it exits.
    const key = await setupWs.spawn({ command: 'sh', args: ['-c', 'read line; exit 2'], title: 'oneshot' })
    await until('added', () => vscode.names().join() === 'api,web,postgres,oneshot')
    const oneshot = byName('oneshot')
    const handle = setupWs.attach(key)
    await new Promise<void>((resolve) => handle.onData(() => resolve()))
    handle.write('\r')
    await until('named as exited', () => vscode.names().join() === 'api,web,postgres,oneshot (exited)')
    expect(byName('oneshot (exited)')).toBe(oneshot)
    expect(oneshot.disposed).toBe(false)
    handle.dispose()
    await setupWs.close(key)
    await until('removed', () => vscode.names().join() === 'api,web,postgres')
  })

  it('closing a terminal in the editor hides the tab there but keeps the session', async () => {
    byName('api').closeByUser()
    expect(vscode.names()).toEqual(['web', 'postgres'])
    setupWs.rename(keys.web!, 'frontend')
    await until('still syncing', () => vscode.names().join() === 'frontend,postgres')
    expect(setupWs.tabs().some((t) => t.key === keys.api)).toBe(true)
    mirror.showAll()
    // Only a terminal the person closed is created again, at the end (VS Code appends).
    expect(vscode.names()).toEqual(['frontend', 'postgres', 'api'])
  })

  it('holds the terminal to the PTY size while another viewer drives, and drives once typed into', async () => {
    const other = setupWs.attach(keys.api!)
    other.setActive(true)
    other.resize(70, 15)
    const api = byName('api')
    await until('held to the other viewer size', () => api.overridden?.columns === 70 && api.overridden?.rows === 15)
    api.type('true\r')
    // Typing made the editor the driver: its own size (90x20, from the stand-in) reaches the PTY.
    await until('editor drives', () => api.overridden === undefined)
    await until('pty size follows the editor', () => {
      const s = setupWs.sessions().find((x) => x.key === keys.api)
      return s?.cols === 90 && s?.rows === 20
    })
    other.dispose()
  })

  it('disposing the mirror removes its terminals and ends no session', async () => {
    mirror.dispose()
    expect(vscode.terminals).toHaveLength(0)
    expect(setupWs.tabs()).toHaveLength(3)
  })
})
