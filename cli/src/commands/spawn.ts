import { resolve } from 'node:path'
import type { Command } from 'commander'
import { connectClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'

interface SpawnFlags extends ClientFlags {
  workspace?: string
  key?: string
  cwd?: string
  closeOnExit?: boolean
  json?: boolean
}

/** `tabula spawn [-- command args...]`: find-or-spawn a session (docs/daemon.md, "HTTP API"). */
export function registerSpawn(program: Command): void {
  withClientFlags(program.command('spawn'))
    .description('start a session, or find the one already running under --key')
    .argument('[command...]', 'program and its arguments, after `--` (default: your $SHELL)')
    .option('--workspace <id|dir>', 'workspace id or directory (default: the current directory, made a workspace if needed)')
    .option('--key <key>', 'session key: tab-<uuid>, the workspace id, hb-<name> or inbox-<name> (default: a new tab)')
    .option('--cwd <dir>', 'directory to start in (default: the workspace directory)')
    .option('--close-on-exit', 'remove the session when its process exits')
    .option('--json', 'print JSON for programs')
    .addHelpText(
      'after',
      // npm passes a script its own flags only after a second `--`: without it, `--watch` is npm's.
      '\nExample:\n  tabula spawn --key hb-build -- npm run build -- --watch\n',
    )
    .action(async (command: string[], flags: SpawnFlags) => {
      const client = connectClient(flags)
      const workspace = await client.findWorkspace(flags.workspace ?? process.cwd(), true)
      const { session, created } = await client.spawn(workspace.id, {
        key: flags.key,
        command: command[0],
        args: command.length ? command.slice(1) : undefined,
        cwd: flags.cwd === undefined ? undefined : resolve(flags.cwd),
        closeOnExit: flags.closeOnExit,
      })
      if (flags.json) {
        process.stdout.write(JSON.stringify({ created, session }, null, 2) + '\n')
        return
      }
      const what = created ? 'spawned' : 'already running:'
      process.stdout.write(
        `${what} ${session.key} in ${workspace.name} (pid ${session.pid}, ${[session.command, ...session.args].join(' ')})\n`,
      )
    })
}
