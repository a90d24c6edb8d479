/**
 * The terminal viewer: `tabula tabs` prints the SDK's tab list, and `tabula attach` runs in a
 * real pseudo-terminal (node-pty, as a person's terminal would), sees the session, types into
 * it, follows the terminal's size, and detaches with Ctrl-].
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawn as spawnPty, type IPty } from 'node-pty'
import type { WorkspaceView } from '@tabula/client-sdk'
import { TABULA_BIN, type RunningTabula } from '../helpers/tabula.js'
import { startWorkspace, type TestWorkspace } from '../helpers/workspace.js'

const run = promisify(execFile)
let setup: TestWorkspace
let tabula: RunningTabula
let ws: WorkspaceView
let workspaceId: string
let keys: Record<string, string>

beforeAll(async () => {
  setup = await startWorkspace({ name: 'cli', titles: ['one', 'two', 'three'] })
  ;({ tabula, ws, workspaceId, keys } = setup)
})

afterAll(() => setup?.stop())

function tabula_(...args: string[]) {
  return run(process.execPath, [TABULA_BIN, ...args, '--home', tabula.home])
}

/** Output of a pty, with a way to wait for text in it. */
function watchPty(pty: IPty) {
  let out = ''
  const waiters = new Set<() => void>()
  pty.onData((d) => {
    out += d
    for (const w of waiters) w()
  })
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)))
  return {
    text: () => out,
    exited,
    waitFor(needle: string | RegExp): Promise<void> {
      const seen = () => (typeof needle === 'string' ? out.includes(needle) : needle.test(out))
      return new Promise((resolve, reject) => {
        if (seen()) return resolve()
        const timer = setTimeout(() => reject(new Error(`no ${String(needle)} in:\n${out.slice(-2000)}`)), 20_000)
        const check = () => {
          if (!seen()) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
      })
    },
  }
}

describe('tabula tabs', () => {
  it('prints the tab list in layout order, and follows a move', async () => {
    const before = (await tabula_('tabs', workspaceId)).stdout
    expect(titleColumn(before)).toEqual(['one', 'two', 'three'])
    ws.move(keys.three!, { index: 0 })
    await waitForSync(async () => titleColumn((await tabula_('tabs', workspaceId)).stdout).join() === 'three,one,two')
    const json = JSON.parse((await tabula_('tabs', workspaceId, '--json')).stdout) as { tabs: Array<{ key: string; title: string; index: number }> }
    expect(json.tabs.map((t) => [t.title, t.index])).toEqual([['three', 0], ['one', 1], ['two', 2]])
    expect(json.tabs[0]!.key).toBe(keys.three)
  })

  it('accepts the workspace directory instead of its id', async () => {
    const { stdout } = await tabula_('tabs', tabula.home)
    expect(titleColumn(stdout)).toEqual(['three', 'one', 'two'])
  })
})

describe('tabula attach', () => {
  it('attaches like tmux: shows the screen, sends keys (Ctrl-C included), follows the size, detaches with Ctrl-]', async () => {
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', keys.one!, '--home', tabula.home], {
      cols: 100,
      rows: 30,
      env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>,
    })
    const out = watchPty(pty)
    // The attach claims the driver role: the session takes the terminal's size.
    await waitForSync(async () => sessionOf(keys.one!)?.cols === 100 && sessionOf(keys.one!)?.rows === 30)
    pty.write('echo attached-$((40+2))\r')
    await out.waitFor('attached-42')
    // Ctrl-C reaches the program (it interrupts `sleep`), it does not end the attach.
    // Wait for the program's own output, not the echo of its command line: a Ctrl-C sent while
    // bash is still starting it would be taken by bash, and the `sleep` would then run its course.
    // (The quotes keep the echoed command line from matching.)
    pty.write("sh -c 'echo sleep''ing; exec sleep 30'\r")
    await out.waitFor(/[\r\n]sleeping/)
    pty.write('\x03')
    pty.write('echo still-here\r')
    await out.waitFor(/[\r\n]still-here/)
    pty.resize(120, 40)
    await waitForSync(async () => sessionOf(keys.one!)?.cols === 120 && sessionOf(keys.one!)?.rows === 40)
    pty.write('\x1d')
    await out.waitFor(`[detached from ${keys.one}]`)
    expect(await out.exited).toBe(0)
    // Detaching never ends the session (SPEC I4).
    expect(ws.tabs().some((t) => t.key === keys.one)).toBe(true)
  })

  it('says in the title when another viewer takes the size, and takes it back on a local resize (like tmux)', async () => {
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', keys.three!, '--home', tabula.home], {
      cols: 100,
      rows: 30,
      env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>,
    })
    const out = watchPty(pty)
    await waitForSync(async () => sessionOf(keys.three!)?.cols === 100 && sessionOf(keys.three!)?.rows === 30)
    await out.waitFor('\x1b]2;tabula ' + keys.three + ': this terminal sets the size\x07')
    // Another viewer drives: the terminal is told in its title (never on the program's screen).
    const other = ws.attach(keys.three!)
    // Claimed once attached (the SDK forgets a claim made before it, when another viewer drives).
    await new Promise<void>((resolve) => other.onData(() => resolve()))
    other.resize(70, 15)
    other.setActive(true)
    await waitForSync(async () => sessionOf(keys.three!)?.cols === 70)
    await out.waitFor(`\x1b]2;tabula ${keys.three}: size 70x15 set by test setup (script); resize this window to take it back\x07`)
    // A resize here claims the role back, and the session takes this terminal's size again.
    pty.resize(110, 35)
    await waitForSync(async () => sessionOf(keys.three!)?.cols === 110 && sessionOf(keys.three!)?.rows === 35)
    await waitForSync(async () => out.text().split(': this terminal sets the size').length === 3)
    other.setActive(true) // and once more, so that the detach line names the driver
    await waitForSync(async () => sessionOf(keys.three!)?.cols === 70)
    await out.waitFor('size 70x15 set by test setup (script)')
    pty.write('\x1d')
    await out.waitFor(`[detached from ${keys.three}; its size was set by test setup (script)]`)
    expect(await out.exited).toBe(0)
    // The title pushed on attach is restored on detach.
    expect(out.text()).toContain('\x1b[22;0t')
    expect(out.text()).toContain('\x1b[23;0t')
    other.dispose()
  })

  it('finds the workspace by itself, ends when the program exits, and reports its code', async () => {
    // Another workspace, watched: the attach looks there without showing up in its presence.
    mkdirSync(join(tabula.home, 'other'))
    const other = setup.sdk.workspace((await setup.sdk.ensureWorkspace({ path: join(tabula.home, 'other') })).id)
    await other.ready
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', keys.two!, '--home', tabula.home], { cols: 80, rows: 24, env: process.env as Record<string, string> })
    const out = watchPty(pty)
    await waitForSync(async () => sessionOf(keys.two!)?.cols === 80)
    await waitForSync(async () => ws.presence().some((p) => p.viewer.kind === 'terminal'))
    expect(other.presence().map((p) => p.viewer.name)).toEqual(['test setup'])
    pty.write('exit 5\r')
    await out.waitFor(`${keys.two} exited with code 5`)
    expect(await out.exited).toBe(5)
  })

  it('refuses an unknown key with a clear message', async () => {
    const err = await tabula_('attach', 'tab-00000000-0000-4000-8000-000000000000', '--workspace', workspaceId).catch((e: { stderr: string }) => e)
    expect((err as { stderr: string }).stderr).toContain('no tab tab-00000000-0000-4000-8000-000000000000')
  })
})

function titleColumn(table: string): string[] {
  const [header, ...rows] = table.trimEnd().split('\n')
  const at = header!.indexOf('TITLE')
  return rows.map((r) => r.slice(at).trim())
}

function sessionOf(key: string) {
  return ws.sessions().find((s) => s.key === key)
}

async function waitForSync(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 100))
  }
}
