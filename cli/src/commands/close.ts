import type { Command } from 'commander'
import { isUuid } from '@tabula/protocol'
import { connectClient, type TabulaClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'

/** `tabula close <key>`: end a session's processes and remove its key. */
export function registerClose(program: Command): void {
  withClientFlags(program.command('close'))
    .description('close a session: end its process group and remove its key')
    .argument('<key>', 'session key')
    .option('--workspace <id|dir>', 'workspace the session is in (default: whichever holds the key)')
    .option('--json', 'print JSON for programs')
    .action(async (key: string, flags: ClientFlags & { workspace?: string; json?: boolean }) => {
      const client = connectClient(flags)
      const workspace = flags.workspace ? (await client.findWorkspace(flags.workspace, false)).id : await workspaceHolding(client, key)
      await client.close(workspace, key)
      process.stdout.write(flags.json ? JSON.stringify({ key, workspace, closed: true }) + '\n' : `closed ${key}\n`)
    })
}

async function workspaceHolding(client: TabulaClient, key: string): Promise<string> {
  // A chat key is its workspace's own id.
  if (isUuid(key)) return key
  for (const workspace of await client.listWorkspaces()) {
    const { sessions } = await client.listSessions(workspace.id)
    if (sessions.some((s) => s.key === key)) return workspace.id
  }
  throw new Error(`no session ${key} in any workspace (\`tabula ls <workspace>\` lists them)`)
}
