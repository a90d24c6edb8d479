/**
 * The VS Code entry point: connects to the running tabula (settings, else the same
 * <home>/runtime.json and <home>/token the CLI uses), picks the workspace for the open folder,
 * and mirrors its tabs as terminals (see mirror.ts for what VS Code allows).
 */
import * as vscode from 'vscode'
import { connect, type TabulaClient, type WorkspaceView } from '@tabula/client-sdk'
import { TerminalMirror } from './mirror.js'
import { SHOW_TAB_COMMAND, TabsTree } from './tree.js'
import { resolveEndpoint, resolveWorkspace } from './endpoint.js'

let current: { client: TabulaClient; mirror: TerminalMirror; tree: TabsTree; view: vscode.TreeView<unknown> } | null = null

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('tabula.connect', () => start()),
    vscode.commands.registerCommand('tabula.showAll', () => current?.mirror.showAll()),
    vscode.commands.registerCommand(SHOW_TAB_COMMAND, (key: string) => {
      current?.mirror.showAll() // a tab hidden here comes back when asked for from the tree
      current?.mirror.terminalOf(key)?.show()
    }),
    vscode.commands.registerCommand('tabula.newTab', async () => {
      if (!current) await start()
      const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath
      await current?.mirror.ws.spawn(cwd ? { cwd } : {})
    }),
    vscode.commands.registerCommand('tabula.closeTab', async () => {
      const terminal = vscode.window.activeTerminal
      const key = terminal && current?.mirror.keyOf(terminal)
      if (!key) return void vscode.window.showInformationMessage('The active terminal is not a tabula tab.')
      const pick = await vscode.window.showWarningMessage(
        `End the session behind "${terminal.name}" for every viewer?`,
        { modal: true },
        'Close Tab',
      )
      if (pick === 'Close Tab') await current!.mirror.ws.close(key)
    }),
    { dispose: () => void stop() },
  )
  if (vscode.workspace.getConfiguration('tabula').get<boolean>('autoConnect', true)) {
    start().catch(() => {
      // Not running yet is normal at editor start; "tabula: Connect" tries again.
    })
  }
}

export async function deactivate(): Promise<void> {
  await stop()
}

async function start(): Promise<void> {
  await stop()
  const config = vscode.workspace.getConfiguration('tabula')
  try {
    const endpoint = resolveEndpoint({
      home: config.get<string>('home') || undefined,
      url: config.get<string>('url') || undefined,
      token: config.get<string>('token') || undefined,
    })
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath
    const client = await connect({ ...endpoint, viewer: { name: `VS Code (${vscode.env.appName})`, kind: 'editor' } })
    let ws: WorkspaceView
    try {
      ws = client.workspace(await resolveWorkspace(client, config.get<string>('workspace') || undefined, folder))
      await ws.ready
    } catch (err) {
      await client.close()
      throw err
    }
    const tree = new TabsTree(vscode, ws)
    const view = vscode.window.createTreeView('tabula.tabs', { treeDataProvider: tree, dragAndDropController: tree, canSelectMany: true })
    current = { client, mirror: new TerminalMirror(vscode, client, ws, config.get<string>('titlePrefix') ?? ''), tree, view }
  } catch (err) {
    void vscode.window.showErrorMessage(`tabula: ${err instanceof Error ? err.message : String(err)}`)
    throw err
  }
}

async function stop(): Promise<void> {
  const was = current
  current = null
  if (!was) return
  was.view.dispose()
  was.tree.dispose()
  was.mirror.dispose()
  await was.client.close()
}
