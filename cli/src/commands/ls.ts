import type { Command } from 'commander'
import type { Session } from '@tabula/protocol'
import { connectClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'
import { formatTable } from '../table.js'

/** `tabula ls [workspace]`: the workspaces, or one workspace's sessions. */
export function registerLs(program: Command): void {
  withClientFlags(program.command('ls'))
    .description("list workspaces, or a workspace's sessions (by workspace id or directory)")
    .argument('[workspace]', 'workspace id or directory')
    .option('--json', 'print JSON for programs')
    .action(async (ref: string | undefined, flags: ClientFlags & { json?: boolean }) => {
      const client = connectClient(flags)
      if (ref === undefined) {
        const workspaces = await client.listWorkspaces()
        if (flags.json) return print(JSON.stringify(workspaces, null, 2) + '\n')
        if (!workspaces.length) return print('no workspaces yet: `tabula spawn` makes one for the current directory\n')
        return print(
          formatTable(
            ['ID', 'NAME', 'PATH'],
            workspaces.map((w) => [w.id, w.name, w.path]),
          ),
        )
      }
      const workspace = await client.findWorkspace(ref, false)
      const list = await client.listSessions(workspace.id)
      if (flags.json) return print(JSON.stringify({ workspace, ...list }, null, 2) + '\n')
      if (!list.sessions.length) return print(`no sessions in ${workspace.name} (${workspace.path})\n`)
      print(formatTable(['KEY', 'KIND', 'STATUS', 'PID', 'COMMAND', 'TITLE'], list.sessions.map(sessionRow)))
    })
}

function sessionRow(s: Session): string[] {
  const status = s.status === 'exited' ? `exited (${s.exitCode})` : 'running'
  return [s.key, s.kind, status, String(s.pid), [s.command, ...s.args].join(' '), s.title ?? '']
}

function print(text: string): void {
  process.stdout.write(text)
}
