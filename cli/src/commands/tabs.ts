import type { Command } from 'commander'
import { connect, type Tab, type TabulaClient as SdkClient, type WorkspaceView } from '@tabula/client-sdk'
import type { ViewerInfo } from '@tabula/protocol'
import { connectClient, type TabulaClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'
import { formatTable } from '../table.js'

/** `tabula tabs <workspace>`: the tab list exactly as the SDK derives it for every viewer. */
export function registerTabs(program: Command): void {
  withClientFlags(program.command('tabs'))
    .description('print a workspace\'s tabs as every viewer shows them (live sessions in layout order)')
    .argument('<workspace>', 'workspace id or directory')
    .option('--json', 'print JSON for programs')
    .action(async (ref: string, flags: ClientFlags & { json?: boolean }) => {
      const http = connectClient(flags)
      const workspace = await http.findWorkspace(ref, false)
      await withWorkspace(http, workspace.id, { name: 'tabula tabs', kind: 'cli' }, async (ws) => {
        const tabs = ws.tabs()
        if (flags.json) {
          process.stdout.write(JSON.stringify({ workspace, groups: ws.layout().groups, tabs }, null, 2) + '\n')
          return
        }
        if (!tabs.length) {
          process.stdout.write(`no tabs in ${workspace.name} (${workspace.path})\n`)
          return
        }
        const groups = ws.layout().groups
        process.stdout.write(formatTable(['#', 'GROUP', 'KEY', 'KIND', 'STATUS', 'TITLE'], tabs.map((t) => tabRow(t, groups))))
      })
    })
}

function tabRow(tab: Tab, groups: string[]): string[] {
  const status = tab.status === 'exited' ? `exited (${tab.exitCode ?? 'signal'})` : 'running'
  return [String(tab.index + 1), String(groups.indexOf(tab.group) + 1), tab.key, tab.kind, status, tab.title]
}

/**
 * Opens one workspace through the SDK (the only way to derive tabs: SPEC I7), runs `use`, and
 * closes the connection whatever happens.
 */
export async function withWorkspace<T>(
  http: TabulaClient,
  workspaceId: string,
  viewer: ViewerInfo,
  use: (ws: WorkspaceView, client: SdkClient) => Promise<T>,
): Promise<T> {
  const client = await connect({ url: http.url, token: http.token, viewer })
  try {
    const ws = client.workspace(workspaceId)
    await ws.ready
    return await use(ws, client)
  } finally {
    await client.close()
  }
}
