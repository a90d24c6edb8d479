import type { Command } from 'commander'
import { connectClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'

/**
 * `tabula rm <workspace>`: forget a workspace (a mistyped path, a project gone). The daemon
 * refuses while the workspace has sessions; `--close-sessions` closes them first, by name.
 */
export function registerRm(program: Command): void {
  withClientFlags(program.command('rm'))
    .description('remove a workspace (refused while it has sessions, unless --close-sessions)')
    .argument('<workspace>', 'workspace id or directory')
    .option('--close-sessions', "first close the workspace's sessions, ending their programs")
    .option('--json', 'print JSON for programs')
    .action(async (ref: string, flags: ClientFlags & { closeSessions?: boolean; json?: boolean }) => {
      const client = connectClient(flags)
      const workspace = await client.findWorkspace(ref, false)
      const closed: string[] = []
      if (flags.closeSessions) {
        for (const session of (await client.listSessions(workspace.id)).sessions) {
          await client.close(workspace.id, session.key)
          closed.push(session.key)
        }
      }
      await client.removeWorkspace(workspace.id)
      if (flags.json) return void process.stdout.write(JSON.stringify({ workspace, closed, removed: true }) + '\n')
      for (const key of closed) process.stdout.write(`closed ${key}\n`)
      process.stdout.write(`removed workspace ${workspace.name} (${workspace.path})\n`)
    })
}
