import type { Command } from 'commander'
import { hostname, userInfo } from 'node:os'
import { isUuid } from '@tabula/protocol'
import type { TerminalHandle } from '@tabula/client-sdk'
import { connectClient, type TabulaClient } from '../client.js'
import { withClientFlags, type ClientFlags } from '../options.js'
import { withWorkspace } from './tabs.js'

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
      const http = connectClient(flags)
      const workspace = flags.workspace ? (await http.findWorkspace(flags.workspace, false)).id : await workspaceHolding(http, key)
      const viewer = { name: `${safeUser()}@${hostname()}`, kind: 'terminal' }
      const code = await withWorkspace(http, workspace, viewer, async (ws) => {
        if (!ws.tabs().some((t) => t.key === key)) throw new Error(`no tab ${key} in workspace ${workspace}`)
        return runAttached(ws.attach(key), key, !flags.watch)
      })
      process.exitCode = code
    })
}

/**
 * Wires the terminal to the session until the detach key, the session's end, or a signal.
 * Resolves to the exit status for this command: 0 on detach, the program's code when it exits.
 */
function runAttached(handle: TerminalHandle, key: string, drive: boolean): Promise<number> {
  const { stdin, stdout } = process
  const tty = stdin.isTTY === true
  return new Promise<number>((resolve) => {
    let finished = false
    // The SDK drops input sent before the daemon's snapshot arrives; keep what is typed until then.
    let early: string[] | null = []
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
      // Leave the alternate screen: the shell's own screen and scrollback come back as they were.
      if (stdout.isTTY) stdout.write('\x1b[?1049l')
      stdout.write(`[${message}]\n`)
      resolve(code)
    }
    const send = (data: string) => (early ? early.push(data) : handle.write(data))
    const onInput = (chunk: Buffer) => {
      const at = chunk.indexOf(DETACH_BYTE)
      if (at >= 0) {
        if (at > 0) send(chunk.subarray(0, at).toString('utf8'))
        finish(`detached from ${key}`, 0)
        return
      }
      send(chunk.toString('utf8'))
    }
    const onResize = () => {
      if (drive && stdout.columns && stdout.rows) handle.resize(stdout.columns, stdout.rows)
    }
    const onSignal = () => finish(`detached from ${key}`, 0)

    if (stdout.isTTY) stdout.write('\x1b[?1049h')
    if (tty) stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onInput)
    stdout.on('resize', onResize)
    process.on('SIGTERM', onSignal)
    process.on('SIGHUP', onSignal)

    handle.onData((data) => {
      stdout.write(data)
      if (early) {
        const typed = early.join('')
        early = null
        // After the SDK has marked the handle attached, which it does once this callback returns.
        if (typed) queueMicrotask(() => handle.write(typed))
      }
    })
    handle.onExit((exitCode) => finish(`${key} exited with code ${exitCode ?? 'unknown'}`, exitCode ?? 1))
    handle.onClosed((reason) => finish(`${key} was closed${reason ? `: ${reason}` : ''}`, 0))
    if (drive) {
      // Like tmux: the terminal you attach from sets the size until another viewer takes over.
      handle.setActive(true)
      onResize()
    }
  })
}

async function workspaceHolding(client: TabulaClient, key: string): Promise<string> {
  if (isUuid(key)) return key // a chat key is its workspace's own id
  for (const workspace of await client.listWorkspaces()) {
    const { sessions } = await client.listSessions(workspace.id)
    if (sessions.some((s) => s.key === key)) return workspace.id
  }
  throw new Error(`no session ${key} in any workspace (\`tabula ls <workspace>\` lists them)`)
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'someone'
  }
}
