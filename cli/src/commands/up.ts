import type { Command } from 'commander'
import { createDaemon, type DaemonComponent } from '@tabula/daemon'
import { createSyncServer, type SyncServer } from '@tabula/sync-server'
import { createWebViewer } from '@tabula/web'
import { runBootMigration } from '../migration.js'
import { withServerFlags, type ServerFlags } from '../options.js'
import { serve, withDaemonFlags, type DaemonFlags } from '../serve.js'

/** `tabula up`: daemon, sync server and web viewer in one process, on one port (SPEC §3). */
export function registerUp(program: Command): void {
  withDaemonFlags(withServerFlags(program.command('up')))
    .description('run everything on one port: the daemon, the sync server and the web viewer')
    .action(async (flags: ServerFlags & DaemonFlags) => {
      let daemon: DaemonComponent
      let sync: SyncServer
      await serve(flags, {
        logName: 'tabula',
        role: 'url',
        async components(home, log, created) {
          daemon = await createDaemon({ home, log, restore: flags.restore, scrollback: flags.scrollback })
          created.push(daemon)
          sync = await createSyncServer({ home, log, workspaceExists: (id) => daemon.hasWorkspace(id) })
          created.push(sync, createWebViewer())
        },
        afterListen: (log) => runBootMigration({ daemon, sync, log }),
        banner: (url, home, token) =>
          `tabula is running at ${url} (home ${home})\n` + `Open the viewer: ${url}/#token=${token}\n` + 'Stop with Ctrl-C.\n',
      })
    })
}
