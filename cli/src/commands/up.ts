import type { Command } from 'commander'
import { createDaemon } from '@tabula/daemon'
import { createRedisRooms, createSyncServer } from '@tabula/sync-server'
import { createWebViewer } from '@tabula/web'
import { runBootMigration } from '../migration.js'
import { withRedisFlag, withServerFlags, type RedisFlags, type ServerFlags } from '../options.js'
import { serve, withDaemonFlags, type DaemonFlags } from '../serve.js'

/** `tabula up`: daemon, sync server and web viewer in one process, on one port (docs/architecture.md, "One host, many components"). */
export function registerUp(program: Command): void {
  withRedisFlag(withDaemonFlags(withServerFlags(program.command('up'))))
    .description('run everything on one port: the daemon, the sync server and the web viewer')
    .action(async (flags: ServerFlags & DaemonFlags & RedisFlags) => {
      await serve(flags, {
        logName: 'tabula',
        role: 'url',
        async components(home, log, created) {
          const daemon = await createDaemon({
            home,
            log,
            restore: flags.restore,
            scrollback: flags.scrollback,
            fastForward: flags.fastForward,
          })
          created.push(daemon)
          const rooms = flags.redis ? await createRedisRooms(flags.redis, log) : undefined
          const sync = await createSyncServer({ home, log, rooms, workspaceExists: (id) => daemon.hasWorkspace(id) })
          created.push(sync, createWebViewer())
          // Before the port opens: a viewer's first write would make the document non-empty,
          // and a legacy row is only ever seeded into an empty one.
          await runBootMigration({ daemon, sync, log })
        },
        banner: (urls, home, token) =>
          `tabula is running at ${urls.join(', ')} (home ${home})\n` +
          urls.map((url) => `Open the viewer: ${url}/#token=${token}\n`).join('') +
          'Pair a phone with its own token: tabula pair [--watch-only]\n' +
          'Stop with Ctrl-C.\n',
      })
    })
}
