/**
 * What `tabula up`, `tabula daemon` and `tabula sync` share: the daemon's flags, one process per
 * home and role, a loud warning when reachable from the network, and a host that cleans up after
 * itself.
 */
import { readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import {
  clearRuntimeInfo,
  createPairingRoutes,
  DeviceStore,
  createLogger,
  isLoopbackHost,
  loadOrCreateToken,
  onShutdownSignals,
  readLiveRuntimeInfo,
  resolveHome,
  startHost,
  writeRuntimeInfo,
  type Component,
  type Host,
  type Logger,
} from '@tabula/protocol/server'
import { DEFAULT_SCROLLBACK } from '@tabula/daemon'
import type { ServerFlags } from './options.js'

export interface DaemonFlags {
  scrollback: number
  restore: boolean
  fastForward: boolean
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
    .addOption(
      new Option('--no-fast-forward', "parse every byte into the daemon's screens, even flood text that scrolls out unseen (docs/daemon.md)"),
    )
}

/** Which runtime.json fields a serving command owns: two processes must never own the same one. */
export type ServeRole = 'url' | 'daemonUrl' | 'syncUrl'

const CONFLICTS: Record<ServeRole, ServeRole[]> = {
  url: ['url', 'daemonUrl', 'syncUrl'],
  daemonUrl: ['url', 'daemonUrl'],
  syncUrl: ['url', 'syncUrl'],
}

/**
 * Two daemons on one home would both restore, and both write, the same sessions; two sync servers
 * would write the same documents. Refuses to start beside a live process that owns the same part.
 */
export function refuseSecondServer(home: string, role: ServeRole): void {
  const running = readLiveRuntimeInfo(home)
  if (!running || running.pid === process.pid) return
  const taken = CONFLICTS[role].find((field) => running[field])
  if (!taken) return
  throw new Error(`tabula is already running under ${home} (pid ${running.pid}, ${running[taken]}); stop it first or use another --home`)
}

export function warnIfExposed(host: string, log: Logger): void {
  if (isLoopbackHost(host)) return
  const message = `listening on ${host}: tabula is REACHABLE FROM THE NETWORK; anyone who has the token can run commands as you`
  log.warn(message)
  process.stderr.write(`\n  WARNING: ${message}\n\n`)
}

/** `--tls-cert` and `--tls-key`, read once at start; both or neither, each a readable file. */
export function readTls(flags: Pick<ServerFlags, 'tlsCert' | 'tlsKey'>): { cert: Buffer; key: Buffer } | undefined {
  if (!flags.tlsCert && !flags.tlsKey) return undefined
  if (!flags.tlsCert || !flags.tlsKey) throw new Error('--tls-cert and --tls-key go together: give both (see docs/viewers.md, "Use it from your phone")')
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`)
    }
  }
  return { cert: read('--tls-cert', flags.tlsCert), key: read('--tls-key', flags.tlsKey) }
}

/** Listens with the given components; a taken port is reported in words, with what to do. */
export async function listen(
  flags: ServerFlags,
  token: string,
  components: Component[],
  log: Logger,
  access: { devices?: DeviceStore; tls?: { cert: Buffer; key: Buffer } } = {},
): Promise<Host> {
  const { devices, tls } = access
  try {
    return await startHost({
      host: flags.host,
      port: flags.port,
      token,
      components,
      allowOrigins: flags.allowOrigin,
      publicHosts: flags.publicHost,
      tls,
      devices,
      log,
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_OSSL_PEM_NO_START_LINE' || /PEM|key values mismatch/i.test((err as Error).message)) {
      throw new Error(`--tls-cert/--tls-key: ${(err as Error).message} (give a PEM certificate and its matching key)`)
    }
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

export interface ServeSpec {
  /** The logger's name. */
  logName: string
  /** The runtime.json field this process writes its address under. */
  role: ServeRole
  /** Creates the components; anything created before a failure is closed by serve(). */
  components(home: string, log: Logger, created: Component[]): Promise<void>
  /** What a person reads once it is ready; `urls` has one address per name or interface. */
  banner(urls: string[], home: string, token: string): string
}

/**
 * What every serving command does: one process per home and role, a loud warning when reachable
 * from the network, clean shutdown on signals, runtime.json written only once ready to serve.
 */
export async function serve(flags: ServerFlags, spec: ServeSpec): Promise<void> {
  const home = resolveHome(flags.home)
  const log = createLogger(spec.logName)
  refuseSecondServer(home, spec.role)
  warnIfExposed(flags.host, log)
  const token = loadOrCreateToken(home)
  const tls = readTls(flags) // a missing certificate is told before anything starts
  const devices = new DeviceStore(home)
  let host: Host | undefined
  stopOnSignals(() => host, home, log)

  const created: Component[] = [createPairingRoutes(devices)]
  try {
    await spec.components(home, log, created)
    host = await listen(flags, token, created, log, { devices, tls })
  } catch (err) {
    await (host ? host.close() : Promise.allSettled(created.map((c) => c.close())))
    throw err
  }
  writeRuntimeInfo(home, { pid: process.pid, [spec.role]: host.url, ...(spec.role === 'url' ? { urls: host.urls } : {}) })
  process.stdout.write(spec.banner(host.urls, home, token))
}
