import type { Command } from 'commander'
import { hostname, userInfo } from 'node:os'
import { readlinkSync } from 'node:fs'
import type { SizeChange, TabulaClient, TerminalHandle, WorkspaceStatus, WorkspaceView } from '@tabula/client-sdk'
import { withClientFlags, type ClientFlags } from '../options.js'
import { withSdk } from './tabs.js'
import { resolveTarget } from './attach-target.js'

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
    .argument('<key>', 'session key, a unique start of one, or the # of `tabula tabs` (docs/viewers.md)')
    .option('--workspace <id|dir>', 'workspace the session is in (default: whichever holds the key)')
    .option('--watch', 'do not take over the size: show the session at the size another viewer drives')
    .action(async (ref: string, flags: ClientFlags & { workspace?: string; watch?: boolean }) => {
      const viewer = { name: terminalName(), kind: 'terminal' }
      const code = await withSdk(flags, viewer, async (client, reach) => {
        const { ws, key } = await resolveTarget(client, ref, flags.workspace, reach)
        // Presence: this terminal looks at this tab only (not at the first tab of every group).
        const group = ws.tabs().find((t) => t.key === key)?.group
        ws.setVisibleGroups(group ? [group] : [])
        ws.setActiveTab(key)
        const exited = ws.sessions().find((s) => s.key === key)?.status === 'exited'
        return runAttached(ws.attach(key), key, { drive: !flags.watch, exited, self: viewer.name }, driverLabel(client, ws), ws)
      })
      process.exitCode = code
    })
}

/**
 * How this terminal is named in presence and titles: user, host and the terminal device, so two
 * attaches on one host can be told apart ("me@box pts/3" and "me@box pts/5").
 */
export function terminalName(): string {
  let tty = ''
  try {
    tty = readlinkSync('/proc/self/fd/0').replace(/^\/dev\//, '')
  } catch {
    // No /proc (macOS): the process id still tells two attaches apart.
  }
  const where = tty.startsWith('pts/') || tty.startsWith('tty') ? tty : `pid ${process.pid}`
  return `${safeUser()}@${hostname()} ${where}`
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

interface AttachOptions {
  /** Claim the driver role (not `--watch`). */
  drive: boolean
  /** The session had already exited when this attach began: show its last screen, then wait for a key. */
  exited: boolean
  /** This terminal's own name, as presence shows it. */
  self: string
}

/**
 * Wires the terminal to the session until the detach key, the session's end, or a signal.
 * Resolves to the exit status for this command: 0 on detach, the program's code when it exits.
 *
 * Who drives the size, and the size, are shown in the terminal's title whenever either changes, so
 * the program's screen is never written over: "size 70x15 set by Pocket (phone)" when another
 * viewer takes over, "this terminal (me@box pts/3) sets the size, 100x30" when it is this one.
 * The title is pushed on attach and restored on detach. Unless `--watch`, resizing this terminal
 * takes the role back, as in tmux; so does typing, after which this terminal's size is sent too.
 *
 * When the daemon goes away, the terminal leaves raw mode (keys would go nowhere: the shell's
 * line editing and Ctrl-C work again, and Ctrl-C ends the attach) and a line says so; when it
 * comes back, raw mode returns, the session's screen is drawn again and the title says so.
 */
function runAttached(
  handle: TerminalHandle,
  key: string,
  opts: AttachOptions,
  who: (viewerId: string | null) => string,
  ws: Pick<WorkspaceView, 'on'>,
): Promise<number> {
  const { stdin, stdout } = process
  const { drive } = opts
  const tty = stdin.isTTY === true
  const setTitle = (text: string) => {
    if (stdout.isTTY) stdout.write(`\x1b]2;${text}\x07`)
  }
  return new Promise<number>((resolve) => {
    let finished = false
    /** The last driver announced in the title: the driver's label, or null before any. */
    let announced: string | null = null
    /** The last title written, so that it is only written when it changes. */
    let title: string | null = null
    let size: SizeChange | null = null
    let offline = false
    /** Set once the program has exited, for an attach that shows the last screen. */
    let exitedWith: number | null | undefined
    const finish = (message: string, code: number) => {
      if (finished) return
      finished = true
      stdin.off('data', onInput)
      stdout.off('resize', onResize)
      process.off('SIGTERM', onSignal)
      process.off('SIGHUP', onSignal)
      process.off('SIGINT', onSignal)
      status.dispose()
      presence.dispose()
      if (tty) stdin.setRawMode(false)
      stdin.pause()
      handle.dispose()
      // Leave the alternate screen: the shell's own screen and scrollback come back as they were;
      // and the title this command pushed is popped.
      if (stdout.isTTY) stdout.write('\x1b[?1049l\x1b[23;0t')
      const driver =
        size && announced !== null && announced !== 'this terminal' && announced !== 'nobody' ? `; its size was set by ${announced}` : ''
      stdout.write(`[${message}${driver}]\n`)
      resolve(code)
    }
    const exitMessage = (code: number | null) => `${key} exited with code ${code ?? 'unknown'}`
    const send = (data: string) => {
      if (!offline) handle.write(data)
    }
    const onInput = (chunk: Buffer) => {
      if (exitedWith !== undefined) return finish(exitMessage(exitedWith), exitedWith ?? 1)
      const at = chunk.indexOf(DETACH_BYTE)
      if (at >= 0) {
        if (at > 0) send(chunk.subarray(0, at).toString('utf8'))
        finish(`detached from ${key}`, 0)
        return
      }
      send(chunk.toString('utf8'))
    }
    const ownSize = (): { cols: number; rows: number } | null =>
      stdout.columns && stdout.rows ? { cols: stdout.columns, rows: stdout.rows } : null
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
      showDriver(change)
    }
    /** The title names who sets the size: again when presence brings the driver's name later. */
    const showDriver = (change: SizeChange) => {
      const label = who(change.activeViewer)
      // Before the first claim lands, the previous driver is still reported: not news yet.
      if (announced === null && drive && label !== 'this terminal') return
      announced = label
      const text =
        label === 'this terminal'
          ? `tabula ${key}: this terminal (${opts.self}) sets the size, ${change.cols}x${change.rows}`
          : `tabula ${key}: size ${change.cols}x${change.rows} set by ${label}${drive ? '; resize this window to take it back' : ''}`
      if (text === title || exitedWith !== undefined) return
      title = text
      setTitle(text)
    }
    const onSignal = () => finish(`detached from ${key}`, 0)
    const onStatus = (state: WorkspaceStatus) => {
      if (finished || offline || state.daemon !== 'offline') return
      offline = true
      // Back on the shell's own screen, out of raw mode, so that the message stays readable (and in
      // the scrollback) and Ctrl-C works; the session's screen returns with the reconnect.
      if (tty) stdin.setRawMode(false)
      if (stdout.isTTY) stdout.write('\x1b[?1049l')
      stdout.write(`[tabula: lost the connection to the daemon; keys typed now are not sent. Reconnecting… (Ctrl-C to quit)]\n`)
      title = `tabula ${key}: daemon unreachable, reconnecting`
      setTitle(title)
    }
    /** The first output after a drop is the session's screen, sent again on reattach. */
    const onReconnected = () => {
      offline = false
      announced = null
      title = null
      stdout.write(`[tabula: reconnected to the daemon, back to ${key}]\n`)
      if (stdout.isTTY) stdout.write('\x1b[?1049h')
      if (tty) stdin.setRawMode(true)
    }
    const status = ws.on('status', onStatus)
    const presence = ws.on('presence', () => size && !offline && showDriver(size))

    // Save the title (XTWINOPS push; popped on detach), then the alternate screen.
    if (stdout.isTTY) stdout.write('\x1b[22;0t\x1b[?1049h')
    if (tty) stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onInput)
    stdout.on('resize', onResize)
    process.on('SIGTERM', onSignal)
    process.on('SIGHUP', onSignal)
    // Only reaches here out of raw mode (the daemon is away): Ctrl-C then ends the attach.
    process.on('SIGINT', onSignal)

    // Bytes straight to the tty: no decode and re-encode per chunk.
    handle.onBytes((data) => {
      if (offline) onReconnected()
      stdout.write(data)
    })
    handle.onSize(onSize)
    handle.onExit((exitCode) => {
      if (!opts.exited || !tty) return finish(exitMessage(exitCode), exitCode ?? 1)
      // Attached after the end, like tmux's remain-on-exit: the last screen stays up until a key.
      exitedWith = exitCode
      title = `tabula ${key}: exited with code ${exitCode ?? 'unknown'}; press any key to leave`
      setTitle(title)
    })
    handle.onClosed((reason) => finish(`${key} was closed${reason ? `: ${reason}` : ''}`, 0))
    if (drive && !opts.exited) {
      // Like tmux: the terminal you attach from sets the size until another viewer takes over.
      const own = ownSize()
      if (own) handle.resize(own.cols, own.rows)
      handle.setActive(true)
    }
  })
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'someone'
  }
}
