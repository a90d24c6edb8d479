import type { Command } from 'commander'
import { createRedisRooms, createSyncServer, redactUrl } from '@tabula/sync-server'
import { withRedisFlag, withServerFlags, type RedisFlags, type ServerFlags } from '../options.js'
import { serve } from '../serve.js'
import { VERSION } from '../version.js'

/** `tabula sync`: the layout sync server alone (docs/sync.md), with the daemon's flags. */
export function registerSync(program: Command): void {
  withRedisFlag(withServerFlags(program.command('sync')))
    .description('run the layout sync server alone (y-websocket protocol at /sync/<workspace>)')
    .action(async (flags: ServerFlags & RedisFlags) => {
      await serve(flags, {
        logName: 'tabula-sync',
        role: 'syncUrl',
        async components(home, log, created) {
          // Alone, the sync server cannot ask the daemon which workspaces exist: any well-formed id is a room.
          const rooms = flags.redis ? await createRedisRooms(flags.redis, log) : undefined
          created.push(await createSyncServer({ home, log, rooms, serveHealth: true, version: VERSION }))
        },
        banner: (urls, home) =>
          `tabula sync listening on ${urls.map((u) => u + '/sync').join(', ')} (home ${home}; token in ${home}/token` +
          (flags.redis ? `; documents in ${redactUrl(flags.redis)}` : '') +
          ')\n',
      })
    })
}
