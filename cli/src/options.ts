import { Option, type Command } from 'commander'

/** Default port for `tabula up` / `tabula daemon` ("tabula" is 7 letters; 7770 is rarely taken). */
export const DEFAULT_PORT = 7770
export const DEFAULT_HOST = '127.0.0.1'

export interface ServerFlags {
  port: number
  host: string
  home?: string
  allowOrigin: string[]
  publicHost: string[]
  tlsCert?: string
  tlsKey?: string
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value]

function parsePort(value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a whole number from 0 to 65535, got "${value}"`)
  }
  return port
}

/** The flags every serving command shares (`up`, `daemon`, `sync`; docs/daemon.md lists them). */
export function withServerFlags(cmd: Command, defaultPort = DEFAULT_PORT): Command {
  return cmd
    .addOption(new Option('--port <n>', 'port to listen on (0 picks a free port)').argParser(parsePort).default(defaultPort))
    .addOption(
      new Option('--host <host>', 'address to listen on; anything but loopback is reachable from the network').default(DEFAULT_HOST),
    )
    .addOption(new Option('--home <dir>', 'state directory (default: $TABULA_HOME, else ~/.tabula)'))
    .addOption(
      new Option('--allow-origin <origin>', 'also allow browser pages from this origin (repeatable)')
        .argParser(repeatable)
        .default([] as string[]),
    )
    .addOption(
      new Option(
        '--public-host <name>',
        'a name this machine is also reached by (DNS, tailnet, proxy): its origin is allowed and printed (repeatable)',
      )
        .argParser(repeatable)
        .default([] as string[]),
    )
    .addOption(new Option('--tls-cert <file>', 'PEM certificate (chain) to serve https and wss; needs --tls-key'))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert'))
}

export interface ClientFlags {
  home?: string
  url?: string
  token?: string
}

/** The flags commands that talk to a running tabula share: where it is and how to get in. */
export function withClientFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--home <dir>', 'state directory of the running tabula (default: $TABULA_HOME, else ~/.tabula)'))
    .addOption(new Option('--url <url>', 'daemon address (default: from <home>/runtime.json)'))
    .addOption(new Option('--token <token>', 'token (default: <home>/token)').env('TABULA_TOKEN'))
}

export interface RedisFlags {
  redis?: string
}

/** `redis://HOST:PORT[/DB]` (or `rediss://` for TLS), checked before anything starts. */
export function parseRedisUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(`--redis must be a URL like redis://127.0.0.1:6379/0, got "${value}"`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Error(`--redis must start with redis:// or rediss://, got "${value}"`)
  if (!url.hostname) throw new Error(`--redis needs a host: redis://HOST:PORT[/DB], got "${value}"`)
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,5}$/.test(url.pathname)) {
    throw new Error(`--redis: the path must be a database number (redis://HOST:PORT/DB), got "${url.pathname}"`)
  }
  return value
}

/** `--redis`: the sync server's rooms and documents live in Redis, shared by every instance on it (docs/sync.md). */
export function withRedisFlag(cmd: Command): Command {
  return cmd.addOption(
    new Option('--redis <url>', 'keep layout documents in Redis (redis://HOST:PORT[/DB]), shared by every sync instance on it').argParser(
      parseRedisUrl,
    ),
  )
}
