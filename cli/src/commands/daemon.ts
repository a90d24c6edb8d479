import type { Command } from 'commander'
import { createDaemon } from '@tabula/daemon'
import { withServerFlags, type ServerFlags } from '../options.js'
import { serve, withDaemonFlags, type DaemonFlags } from '../serve.js'

/** `tabula daemon`: the PTY daemon alone (HTTP API and live channel), without sync or viewer. */
export function registerDaemon(program: Command): void {
  withDaemonFlags(withServerFlags(program.command('daemon')))
    .description('run the PTY daemon alone: the HTTP API and the live channel')
    .action(async (flags: ServerFlags & DaemonFlags) => {
      await serve(flags, {
        logName: 'tabula-daemon',
        role: 'daemonUrl',
        async components(home, log, created) {
          created.push(
            await createDaemon({ home, log, restore: flags.restore, scrollback: flags.scrollback, fastForward: flags.fastForward }),
          )
        },
        banner: (urls, home) => `tabula daemon listening on ${urls.join(', ')} (home ${home}; token in ${home}/token)\n`,
      })
    })
}
