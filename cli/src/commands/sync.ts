import type { Command } from 'commander'
import { createSyncServer } from '@tabula/sync-server'
import { withServerFlags, type ServerFlags } from '../options.js'
import { serve } from '../serve.js'
import { VERSION } from '../version.js'

/** `tabula sync`: the layout sync server alone (SPEC §6), with the daemon's flags. */
export function registerSync(program: Command): void {
  withServerFlags(program.command('sync'))
    .description('run the layout sync server alone (y-websocket protocol at /sync/<workspace>)')
    .action(async (flags: ServerFlags) => {
      await serve(flags, {
        logName: 'tabula-sync',
        role: 'syncUrl',
        async components(home, log, created) {
          // Alone, the sync server cannot ask the daemon which workspaces exist: any well-formed id is a room.
          created.push(await createSyncServer({ home, log, serveHealth: true, version: VERSION }))
        },
        banner: (urls, home) => `tabula sync listening on ${urls.map((u) => u + '/sync').join(', ')} (home ${home}; token in ${home}/token)\n`,
      })
    })
}
