import type { Command } from 'commander'
import { hostname, userInfo } from 'node:os'
import { isUuid } from '@tabula/protocol'
import type { SizeChange, TabulaClient, TerminalHandle, WorkspaceView } from '@tabula/client-sdk'
import { withClientFlags, type ClientFlags } from '../options.js'
import { findWorkspace, openWorkspace, withSdk, type Reach } from './tabs.js'

/**
 * The detach key: Ctrl-] (0x1d), telnet's escape. Ctrl-C, Ctrl-D, Ctrl-Z and Ctrl-\ all have to
 * reach the program, and Ctrl-] has no common meaning in a shell or an editor.
 */
export const DETACH_BYTE = 0x1d
export const DETACH_KEY_NAME = 'Ctrl-]'

/** `tabula attach <key>`: this terminal becomes a viewer of the session, like `tmux attach`. */
export function registerAttach(program: Command): void {
  withClientFlags(program.command('attach'))
    .description(`attach this terminal to a session (detach with ${DETACH_KEY_NAME})`)
    .argument('<key>', 'session key (`tabula tabs <workspace>` lists them)')
    .option('--workspace <id|dir>', 'workspace the session is in (default: whichever holds the key)')
    .option('--watch', 'do not take over the size: show the session at the size another viewer drives')
    .action(async (key: string, flags: ClientFlags & { workspace?: string; watch?: boolean }) => {
      const viewer = { name: `${safeUser()}@${hostname()}`, kind: 'terminal' }
      const code = await withSdk(flags, viewer, async (client, reach) => {
        const ws = flags.workspace
          ? await openWorkspace(client, (await findWorkspace(client, flags.workspace, reach)).id, reach)
          : await workspaceHolding(client, key, reach)
        if (!ws.tabs().some((t) => t.key === key)) throw new Error(`no tab ${key} in workspace ${ws.id}`)
        return runAttached(ws.attach(key), key, !flags.watch, driverLabel(client, ws))
      })
      process.exitCode = code
    })
}

/** Who an `activeViewer` id is: "this terminal", a name from presence, or "another viewer". */
function driverLabel(client: TabulaClient, ws: WorkspaceView): (viewerId: string | null) => string {
  return (viewerId) => {
    if (viewerId === null) return 'nobody'
    if (viewerId === client.viewerId) return 'this terminal'
    const entry = ws.presence().find((p) => p.viewerId === viewerId)
    return entry ? `${entry.viewer.name} (${entry.viewer.kind})` : 'another viewer'
  }
}

/**
 * Wires the terminal to the session until the detach key, the session's end, or a signal.
 * Resolves to the exit status for this command: 0 on detach, the program's code when it exits.
 *
 * Who drives the size is shown in the terminal's title, only when it changes, so the program's
 * screen is never written over: "size set by Pocket (phone)" when another viewer takes over (the
 * session keeps that viewer's size), "this terminal sets the size" once it is back. The title is
 * pushed on attach and restored on detach. Unless `--watch`, resizing this terminal takes the
 * role back, as in tmux; so does typing, after which this terminal's size is sent too.
 */
function runAttached(handle: TerminalHandle, key: string, drive: boolean, who: (viewerId: string | null) => string): Promise<number> {
  const { stdin, stdout } = process
  const tty = stdin.isTTY === true
  return new Promise<number>((resolve) => {
    let finished = false
    /** The last driver state announced in the title: the driver's label, or null before any. */
    let announced: string | null = null
    let size: SizeChange | null = null
    const finish = (message: string, code: number) => {
      if (finished) return
      finished = true
      stdin.off('data', onInput)
      stdout.off('resize', onResize)
      process.off('SIGTERM', onSignal)
      process.off('SIGHUP', onSignal)
      if (tty) stdin.setRawMode(false)
      stdin.pause()
      handle.dispose()
      // Leave the alternate screen: the shell's own screen and scrollback come back as they were;
      // and the title this command pushed is popped.
      if (stdout.isTTY) stdout.write('\x1b[?1049l\x1b[23;0t')
      const driver = size && announced !== null && announced !== 'this terminal' && announced !== 'nobody' ? `; its size was set by ${announced}` : ''
      stdout.write(`[${message}${driver}]\n`)
      resolve(code)
    }
    const send = (data: string) => handle.write(data)
    const onInput = (chunk: Buffer) => {
      const at = chunk.indexOf(DETACH_BYTE)
      if (at >= 0) {
        if (at > 0) send(chunk.subarray(0, at).toString('utf8'))
        finish(`detached from ${key}`, 0)
        return
      }
      send(chunk.toString('utf8'))
    }
    const ownSize = (): { cols: number; rows: number } | null => (stdout.columns && stdout.rows ? { cols: stdout.columns, rows: stdout.rows } : null)
    /** A local resize (SIGWINCH): this terminal's size, and the driver role back if another took it. */
    const onResize = () => {
      const own = ownSize()
      if (!drive || !own) return
      handle.resize(own.cols, own.rows)
      if (size && !isSelf(size)) handle.setActive(true) // sends the size just recorded with the claim
    }
    const isSelf = (change: SizeChange) => change.activeViewer !== null && who(change.activeViewer) === 'this terminal'
    const onSize = (change: SizeChange) => {
      size = change
      const own = ownSize()
      if (isSelf(change)) {
        // Active because this terminal typed (the daemon's rule), or after a claim: send the size.
        if (drive && own && (own.cols !== change.cols || own.rows !== change.rows)) handle.resize(own.cols, own.rows)
      } else if (change.activeViewer === null && drive) {
        handle.setActive(true) // nobody drives: take the role, like a desktop viewer does
      }
      const label = who(change.activeViewer)
      // Before the first claim lands, the previous driver is still reported: not news yet.
      if (announced === null && drive && label !== 'this terminal') return
      if (label === announced) return
      announced = label
      const text =
        label === 'this terminal'
          ? `tabula ${key}: this terminal sets the size`
          : `tabula ${key}: size ${change.cols}x${change.rows} set by ${label}${drive ? '; resize this window to take it back' : ''}`
      if (stdout.isTTY) stdout.write(`\x1b]2;${text}\x07`)
    }
    const onSignal = () => finish(`detached from ${key}`, 0)

    // Save the title (XTWINOPS push; popped on detach), then the alternate screen.
    if (stdout.isTTY) stdout.write('\x1b[22;0t\x1b[?1049h')
    if (tty) stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onInput)
    stdout.on('resize', onResize)
    process.on('SIGTERM', onSignal)
    process.on('SIGHUP', onSignal)

    // Bytes straight to the tty: no decode and re-encode per chunk.
    handle.onBytes((data) => {
      stdout.write(data)
    })
    handle.onSize(onSize)
    handle.onExit((exitCode) => finish(`${key} exited with code ${exitCode ?? 'unknown'}`, exitCode ?? 1))
    handle.onClosed((reason) => finish(`${key} was closed${reason ? `: ${reason}` : ''}`, 0))
    if (drive) {
      // Like tmux: the terminal you attach from sets the size until another viewer takes over.
      const own = ownSize()
      if (own) handle.resize(own.cols, own.rows)
      handle.setActive(true)
    }
  })
}

/**
 * The workspace whose sessions include `key` (a chat key is its workspace's own id). Only that
 * workspace's view is opened: the others are asked for their sessions once, without a view, so
 * this terminal never shows up in their presence.
 */
async function workspaceHolding(client: TabulaClient, key: string, reach: Reach): Promise<WorkspaceView> {
  const all = await reach(client.workspaces())
  if (isUuid(key) && all.some((w) => w.id === key)) return openWorkspace(client, key, reach)
  const lists = await Promise.allSettled(all.map(async (w) => ({ id: w.id, sessions: await client.sessionsIn(w.id) })))
  for (const list of lists) {
    if (list.status === 'fulfilled' && list.value.sessions.some((s) => s.key === key)) return openWorkspace(client, list.value.id, reach)
  }
  throw new Error(`no session ${key} in any workspace (\`tabula tabs <workspace>\` lists them)`)
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'someone'
  }
}
