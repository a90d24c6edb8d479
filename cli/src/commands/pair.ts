import type { Command } from 'commander'
import { renderUnicodeCompact } from 'uqr'
import { DeviceStore, homePath, isLoopbackName, readLiveRuntimeInfo, resolveHome } from '@tabula/server-kit'
import { formatTable } from '../table.js'

/**
 * `tabula pair` and `tabula devices` (docs/viewers.md, "Use it from your phone"). Both work on
 * `<home>/devices.json` directly: the running servers follow that file, so a revocation cuts the
 * device's sockets at once without these commands having to reach the server over the network.
 */
export function registerPair(program: Command): void {
  program
    .command('pair')
    .description('print a one-time link (and its QR code) that gives a phone or another device its own token')
    .option('--name <name>', 'what `tabula devices` calls it (default device-1, device-2, …)')
    .option('--watch-only', 'the device can watch tabs and terminals but not type, resize, open, close or edit')
    .option('--url <url>', 'the address the device opens (default: the first non-loopback address `tabula up` printed)')
    .option('--home <dir>', 'state directory of the running tabula (default: $TABULA_HOME, else ~/.tabula)')
    .action((flags: { name?: string; watchOnly?: boolean; url?: string; home?: string }) => {
      const home = homePath(flags.home)
      const base = (flags.url ?? pairingBase(home)).replace(/\/+$/, '')
      const store = new DeviceStore(resolveHome(home)) // with --url, the home may not exist yet
      const pairing = store.createPairing({ name: flags.name, scope: flags.watchOnly ? 'watch' : 'full' })
      const link = `${base}/#pair=${pairing.code}`
      const minutes = Math.round((pairing.expiresAt - pairing.createdAt) / 60_000)
      const lines = [
        `Pairing link for "${pairing.name}" (${pairing.scope === 'watch' ? 'watch only' : 'full access'}; opens once, within ${minutes} minutes):`,
        '',
        `  ${link}`,
        '',
        renderUnicodeCompact(link, { border: 2 }),
        '',
      ]
      if (isLoopbackName(new URL(base).hostname)) {
        lines.push("Note: this address is this machine's loopback; a phone cannot open it. Restart with --host (see docs/viewers.md).")
      }
      lines.push(`List devices: tabula devices. End this one: tabula devices revoke ${pairing.name}`, '')
      process.stdout.write(lines.join('\n'))
    })

  const devices = program
    .command('devices')
    .description('list paired devices (name, created, last seen, scope); `tabula devices revoke NAME` ends one')
    .option('--json', 'print JSON for programs')
    .option('--home <dir>', 'state directory (default: $TABULA_HOME, else ~/.tabula)')
    .action((flags: { json?: boolean; home?: string }) => {
      const { devices: list, pairings } = new DeviceStore(homePath(flags.home)).list()
      if (flags.json) return void process.stdout.write(JSON.stringify({ devices: list, pairings }, null, 2) + '\n')
      if (!list.length && !pairings.length) return void process.stdout.write('no devices paired: `tabula pair` makes a link for one\n')
      const rows = [
        ...list.map((d) => [d.name, d.scope, time(d.createdAt), d.lastSeen === null ? 'never' : time(d.lastSeen)]),
        ...pairings.map((p) => [p.name, p.scope, time(p.createdAt), `link not opened yet (until ${time(p.expiresAt)})`]),
      ]
      process.stdout.write(formatTable(['NAME', 'SCOPE', 'CREATED', 'LAST SEEN'], rows))
    })

  devices
    .command('revoke')
    .description('end a device: its open connections close at once and its token is refused from then on')
    .argument('<name>', 'the device, as `tabula devices` lists it')
    .option('--home <dir>', 'state directory (default: $TABULA_HOME, else ~/.tabula)')
    .action((name: string, flags: { home?: string }, cmd: Command) => {
      const home = homePath(flags.home ?? (cmd.parent?.opts() as { home?: string } | undefined)?.home)
      if (!new DeviceStore(home).revoke(name)) throw new Error(`no device named "${name}" under ${home} (see tabula devices)`)
      process.stdout.write(`revoked ${name}\n`)
    })
}

/** The first address a device on the network can open, from what `tabula up` recorded. */
function pairingBase(home: string): string {
  const info = readLiveRuntimeInfo(home)
  if (!info?.url) throw new Error(`no \`tabula up\` running under ${home}: the pairing link opens its web viewer (or pass --url)`)
  const urls = info.urls ?? [info.url]
  return urls.find((u) => !isLoopbackName(new URL(u).hostname)) ?? info.url
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}
