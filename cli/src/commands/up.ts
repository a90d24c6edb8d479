import type { Command } from 'commander'
import { createDaemon } from '@tabula/daemon'
import { createSyncServer } from '@tabula/sync-server'
import { createWebViewer } from '@tabula/web'
import { createLogger, loadOrCreateToken, resolveHome, writeRuntimeInfo, type Component, type Host } from '@tabula/protocol/server'
import { runBootMigration } from '../migration.js'
import { withServerFlags, type ServerFlags } from '../options.js'
import { closeAll, listen, refuseSecondDaemon, stopOnSignals, warnIfExposed, withDaemonFlags, type DaemonFlags } from '../serve.js'

/** `tabula up`: daemon, sync server and web viewer in one process, on one port (SPEC §3). */
export function registerUp(program: Command): void {
  withDaemonFlags(withServerFlags(program.command('up')))
    .description('run everything on one port: the daemon, the sync server and the web viewer')
    .action(async (flags: ServerFlags & DaemonFlags) => {
      const home = resolveHome(flags.home)
      const log = createLogger('tabula')
      refuseSecondDaemon(home)
      warnIfExposed(flags.host, log)
      const token = loadOrCreateToken(home)
      let host: Host | undefined
      stopOnSignals(() => host, home, log)

      const daemon = await createDaemon({ home, log, restore: flags.restore, scrollback: flags.scrollback })
      const components: Component[] = [daemon]
      try {
        const sync = await createSyncServer({ home, log, workspaceExists: (id) => daemon.hasWorkspace(id) })
        components.push(sync, createWebViewer())
        host = await listen(flags, token, components, log)
        await runBootMigration({ daemon, sync, log })
      } catch (err) {
        await (host ? host.close() : closeAll(components))
        throw err
      }
      writeRuntimeInfo(home, { pid: process.pid, url: host.url })
      process.stdout.write(
        `tabula is running at ${host.url} (home ${home})\n` +
          `Open the viewer: ${host.url}/#token=${token}\n` +
          'Stop with Ctrl-C.\n',
      )
    })
}
