/**
 * What `tabula up` and `tabula daemon` share: the daemon's flags, one process per home, a loud
 * warning when reachable from the network, and a host that cleans up after itself.
 */
import { Option, type Command } from 'commander'
import {
  clearRuntimeInfo,
  isLoopbackHost,
  onShutdownSignals,
  readRuntimeInfo,
  startHost,
  type Component,
  type Host,
  type Logger,
} from '@tabula/protocol/server'
import { DEFAULT_SCROLLBACK } from '@tabula/daemon'
import type { ServerFlags } from './options.js'

export interface DaemonFlags {
  scrollback: number
  restore: boolean
}

function parseLines(value: string): number {
  const lines = Number(value)
  if (!Number.isInteger(lines) || lines < 0 || lines > 1_000_000) {
    throw new Error(`--scrollback must be a whole number of lines from 0 to 1000000, got "${value}"`)
  }
  return lines
}

/** The flags of every command that runs the daemon. */
export function withDaemonFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--scrollback <lines>', 'lines of scrollback kept per session').argParser(parseLines).default(DEFAULT_SCROLLBACK))
    .addOption(new Option('--no-restore', 'do not bring back the sessions that were running at the last shutdown'))
}

/** Two daemons on one home would both restore, and both write, the same sessions. */
export function refuseSecondDaemon(home: string): void {
  const running = readRuntimeInfo(home)
  if (!running || running.pid === process.pid || !isAlive(running.pid)) return
  if (!running.url && !running.daemonUrl) return
  throw new Error(`tabula is already running under ${home} (pid ${running.pid}, ${running.url ?? running.daemonUrl}); stop it first or use another --home`)
}

export function warnIfExposed(host: string, log: Logger): void {
  if (isLoopbackHost(host)) return
  const message = `listening on ${host}: tabula is REACHABLE FROM THE NETWORK; anyone who has the token can run commands as you`
  log.warn(message)
  process.stderr.write(`\n  WARNING: ${message}\n\n`)
}

/** Listens with the given components; a taken port is reported in words, with what to do. */
export async function listen(flags: ServerFlags, token: string, components: Component[], log: Logger): Promise<Host> {
  try {
    return await startHost({ host: flags.host, port: flags.port, token, components, allowOrigins: flags.allowOrigin, log })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${flags.port} on ${flags.host} is already in use; pick another with --port (0 picks a free one)`)
    }
    throw err
  }
}

/** SIGINT/SIGTERM: close the host (components flush and end their PTYs), then runtime.json. */
export function stopOnSignals(getHost: () => Host | undefined, home: string, log: Logger): void {
  onShutdownSignals(
    async () => {
      await getHost()?.close()
      clearRuntimeInfo(home)
    },
    (message) => log.info(message),
  )
}

/** Closes what was created when a later step of start-up fails (ending any restored PTY). */
export async function closeAll(components: Component[]): Promise<void> {
  await Promise.allSettled(components.map((c) => c.close()))
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
