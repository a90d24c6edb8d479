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
  lockHome,
  onShutdownSignals,
  resolveHome,
  startHost,
  writeRuntimeInfo,
  type Component,
  type Host,
  type HomeLock,
  type HomePart,
  type Logger,
} from '@tabula/server-kit'
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
      new Option(
        '--no-fast-forward',
        "parse every byte into the daemon's screens, even flood text that scrolls out unseen (docs/daemon.md)",
      ),
    )
}

/** Which runtime.json fields a serving command owns: two processes must never own the same one. */
export type ServeRole = 'url' | 'daemonUrl' | 'syncUrl'

/**
 * Two daemons on one home would both restore, and both write, the same sessions; two sync servers
 * would write the same documents. Each role locks the parts it runs (server-kit/src/lock.ts).
 */
const LOCKED_PARTS: Record<ServeRole, HomePart[]> = {
  url: ['daemon', 'sync'],
  daemonUrl: ['daemon'],
  syncUrl: ['sync'],
}

/** A home tabula cannot write is said in words, not as a raw EROFS/EACCES. */
function writableHome<T>(home: string | undefined, run: () => T): T {
  try {
    return run()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw err
    const where = home ?? 'the home directory'
    const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user'
    throw new Error(`${where} ${why} (${code}): tabula keeps its lock, token and state there; make it writable or pick another --home`)
  }
}

/** `--allow-origin null` admits every sandboxed iframe, file:// page and data: URL: said loudly. */
export function warnIfNullOrigin(origins: string[] | undefined, log: Logger): void {
  if (!origins?.some((origin) => origin.trim().toLowerCase() === 'null')) return
  const message =
    '--allow-origin null admits every page whose origin is opaque (sandboxed iframes, file:// pages, data: URLs); ' +
    'any of them that has the token can use this server. Prefer the real origin of the page.'
  log.warn(message)
  process.stderr.write(`\n  WARNING: ${message}\n\n`)
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
  if (!flags.tlsCert || !flags.tlsKey)
    throw new Error('--tls-cert and --tls-key go together: give both (see docs/viewers.md, "Use it from your phone")')
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
export function stopOnSignals(getHost: () => Host | undefined, home: string, log: Logger, lock?: HomeLock): void {
  onShutdownSignals(
    async () => {
      await getHost()?.close()
      clearRuntimeInfo(home)
      lock?.release()
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
  const home = writableHome(flags.home, () => resolveHome(flags.home))
  const log = createLogger(spec.logName)
  // Before any state is read: a second process on this home stops here, naming the first.
  const lock = writableHome(home, () =>
    lockHome(home, LOCKED_PARTS[spec.role], (part, owner) =>
      log.warn(
        `taking over the ${part} lock of ${home}, left by ${owner ? `pid ${owner.pid}, which has ended` : 'a process that wrote nothing'}`,
      ),
    ),
  )
  warnIfExposed(flags.host, log)
  warnIfNullOrigin(flags.allowOrigin, log)
  const token = writableHome(home, () => loadOrCreateToken(home))
  const tls = readTls(flags) // a missing certificate is told before anything starts
  const devices = new DeviceStore(home)
  let host: Host | undefined
  stopOnSignals(() => host, home, log, lock)

  const created: Component[] = [createPairingRoutes(devices)]
  try {
    await spec.components(home, log, created)
    host = await listen(flags, token, created, log, { devices, tls })
  } catch (err) {
    await (host ? host.close() : Promise.allSettled(created.map((c) => c.close())))
    lock.release()
    throw err
  }
  lock.setUrl(host.url)
  writeRuntimeInfo(home, { pid: process.pid, [spec.role]: host.url, ...(spec.role === 'url' ? { urls: host.urls } : {}) })
  process.stdout.write(spec.banner(host.urls, home, token))
}
