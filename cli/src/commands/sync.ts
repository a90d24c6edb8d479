import type { Command } from 'commander'
import { createSyncServer } from '@tabula/sync-server'
import { createLogger, loadOrCreateToken, readRuntimeInfo, resolveHome, writeRuntimeInfo, type Host } from '@tabula/protocol/server'
import { withServerFlags, type ServerFlags } from '../options.js'
import { listen, stopOnSignals, warnIfExposed } from '../serve.js'
import { VERSION } from '../version.js'

/** `tabula sync`: the layout sync server alone (SPEC §6), with the daemon's flags. */
export function registerSync(program: Command): void {
  withServerFlags(program.command('sync'))
    .description('run the layout sync server alone (y-websocket protocol at /sync/<workspace>)')
    .action(async (flags: ServerFlags) => {
      const home = resolveHome(flags.home)
      const log = createLogger('tabula-sync')
      refuseSecondSync(home)
      warnIfExposed(flags.host, log)
      const token = loadOrCreateToken(home)
      let host: Host | undefined
      stopOnSignals(() => host, home, log)

      // Alone, the sync server cannot ask the daemon which workspaces exist: any well-formed id is a room.
      const sync = await createSyncServer({ home, log, serveHealth: true, version: VERSION })
      host = await listen(flags, token, [sync], log)
      writeRuntimeInfo(home, { pid: process.pid, syncUrl: host.url })
      process.stdout.write(`tabula sync listening on ${host.url}/sync (home ${home}; token in ${home}/token)\n`)
    })
}

/** Two sync servers on one home would both write the same layout documents. */
function refuseSecondSync(home: string): void {
  const running = readRuntimeInfo(home)
  if (!running || running.pid === process.pid || !isAlive(running.pid)) return
  if (!running.url && !running.syncUrl) return
  throw new Error(`a sync server is already running under ${home} (pid ${running.pid}, ${running.url ?? running.syncUrl}); stop it first or use another --home`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
