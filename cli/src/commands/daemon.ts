import type { Command } from 'commander'
import { createDaemon } from '@tabula/daemon'
import { createLogger, loadOrCreateToken, resolveHome, writeRuntimeInfo, type Host } from '@tabula/protocol/server'
import { withServerFlags, type ServerFlags } from '../options.js'
import { closeAll, listen, refuseSecondDaemon, stopOnSignals, warnIfExposed, withDaemonFlags, type DaemonFlags } from '../serve.js'

/** `tabula daemon`: the PTY daemon alone (HTTP API and live channel), without sync or viewer. */
export function registerDaemon(program: Command): void {
  withDaemonFlags(withServerFlags(program.command('daemon')))
    .description('run the PTY daemon alone: the HTTP API and the live channel')
    .action(async (flags: ServerFlags & DaemonFlags) => {
      const home = resolveHome(flags.home)
      const log = createLogger('tabula-daemon')
      refuseSecondDaemon(home)
      warnIfExposed(flags.host, log)
      const token = loadOrCreateToken(home)
      let host: Host | undefined
      stopOnSignals(() => host, home, log)

      const daemon = await createDaemon({ home, log, restore: flags.restore, scrollback: flags.scrollback })
      try {
        host = await listen(flags, token, [daemon], log)
      } catch (err) {
        await closeAll([daemon])
        throw err
      }
      writeRuntimeInfo(home, { pid: process.pid, daemonUrl: host.url })
      process.stdout.write(`tabula daemon listening on ${host.url} (home ${home}; token in ${home}/token)\n`)
    })
}
