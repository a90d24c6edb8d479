import { resolve } from 'node:path'
import type { Command } from 'commander'
import { connect, type Tab, type TabulaClient, type WorkspaceInfo, type WorkspaceView } from '@tabula/client-sdk'
import { isUuid, type ViewerInfo } from '@tabula/protocol'
import { resolveEndpoint } from '../endpoint.js'
import { withClientFlags, type ClientFlags } from '../options.js'
import { formatTable } from '../table.js'

/** `tabula tabs <workspace>`: the tab list exactly as the SDK derives it for every viewer. */
export function registerTabs(program: Command): void {
  withClientFlags(program.command('tabs'))
    .description("print a workspace's tabs as every viewer shows them (live sessions in layout order)")
    .argument('<workspace>', 'workspace id or directory')
    .option('--json', 'print JSON for programs')
    .action(async (ref: string, flags: ClientFlags & { json?: boolean }) => {
      await withSdk(flags, { name: 'tabula tabs', kind: 'cli' }, async (client, reach) => {
        const workspace = await findWorkspace(client, ref, reach)
        const ws = await openWorkspace(client, workspace.id, reach)
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
        process.stdout.write(
          formatTable(
            ['#', 'GROUP', 'KEY', 'KIND', 'STATUS', 'TITLE'],
            tabs.map((t, i) => tabRow(t, i, groups)),
          ),
        )
      })
    })
}

/**
 * `#` is the tab's position in the whole workspace (group by group, as `tabs()` lists them), so
 * it is an address: `tabula attach <#>` in the same workspace (docs/viewers.md).
 */
function tabRow(tab: Tab, position: number, groups: string[]): string[] {
  const status = tab.status === 'exited' ? `exited (${tab.exitCode ?? 'signal'})` : 'running'
  return [String(position + 1), String(groups.indexOf(tab.group) + 1), tab.key, tab.kind, status, tab.title]
}

/** Turns the SDK's "cannot reach" (a TypeError from fetch) into a message that says what to do. */
export type Reach = <T>(call: Promise<T>) => Promise<T>

/**
 * Connects the SDK to the tabula these flags point at (`--url`/`--token`, else
 * `<home>/runtime.json` and `<home>/token`), runs `use`, and closes the connection whatever
 * happens. The terminal viewers reach tabula through the SDK alone, like every other viewer
 * (docs/viewers.md).
 */
export async function withSdk<T>(
  flags: ClientFlags,
  viewer: ViewerInfo,
  use: (client: TabulaClient, reach: Reach) => Promise<T>,
): Promise<T> {
  const { daemonUrl, syncUrl, token, unreachable } = resolveEndpoint(flags)
  const reach: Reach = (call) =>
    call.catch((err: unknown) => {
      throw err instanceof TypeError ? new Error(unreachable) : err
    })
  const client = await connect({ daemonUrl, syncUrl, token, viewer })
  try {
    return await use(client, reach)
  } finally {
    await client.close()
  }
}

/**
 * A workspace named by id, or by a directory (relative to the current one), from the SDK's list.
 * A directory that is not a workspace yet is an error: these commands only look.
 */
export async function findWorkspace(client: TabulaClient, ref: string, reach: Reach): Promise<WorkspaceInfo> {
  const all = await reach(client.workspaces())
  if (isUuid(ref)) {
    const found = all.find((w) => w.id === ref)
    if (!found) throw new Error(`no workspace ${ref} (\`tabula ls\` lists them)`)
    return found
  }
  const path = resolve(ref)
  const found = all.find((w) => w.path === path)
  if (!found) throw new Error(`no workspace at ${path} (\`tabula ls\` lists them)`)
  return found
}

/** Opens a workspace view and waits until it shows the daemon's sessions and the layout. */
export async function openWorkspace(client: TabulaClient, id: string, reach: Reach): Promise<WorkspaceView> {
  const ws = client.workspace(id)
  await reach(ws.ready)
  return ws
}
