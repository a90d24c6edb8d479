/**
 * The terminal viewer: `tabula tabs` prints the SDK's tab list, and `tabula attach` runs in a
 * real pseudo-terminal (node-pty, as a person's terminal would), sees the session, types into
 * it, follows the terminal's size, and detaches with Ctrl-].
 */
import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawn as spawnPty, type IPty } from 'node-pty'
import type { WorkspaceView } from '@tabula/client-sdk'
import { TABULA_BIN, removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { TEST_SHELL, startWorkspace, type TestWorkspace } from '../helpers/workspace.js'
import { connect } from '@tabula/client-sdk'

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
    await until(
      'tabula tabs to list three, one, two',
      async () => titleColumn((await tabula_('tabs', workspaceId)).stdout).join() === 'three,one,two',
      20_000,
    )
    const json = JSON.parse((await tabula_('tabs', workspaceId, '--json')).stdout) as {
      tabs: Array<{ key: string; title: string; index: number }>
    }
    expect(json.tabs.map((t) => [t.title, t.index])).toEqual([
      ['three', 0],
      ['one', 1],
      ['two', 2],
    ])
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
    await until('tab one at 100×30', async () => sessionOf(keys.one!)?.cols === 100 && sessionOf(keys.one!)?.rows === 30, 20_000)
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
    await until('tab one at 120×40', async () => sessionOf(keys.one!)?.cols === 120 && sessionOf(keys.one!)?.rows === 40, 20_000)
    pty.write('\x1d')
    await out.waitFor(`[detached from ${keys.one}]`)
    expect(await out.exited).toBe(0)
    // Detaching never ends the session (I4, docs/architecture.md "Invariants").
    expect(ws.tabs().some((t) => t.key === keys.one)).toBe(true)
  })

  it('says in the title when another viewer takes the size, and takes it back on a local resize (like tmux)', async () => {
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', keys.three!, '--home', tabula.home], {
      cols: 100,
      rows: 30,
      env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>,
    })
    const out = watchPty(pty)
    await until('tab three at 100×30', async () => sessionOf(keys.three!)?.cols === 100 && sessionOf(keys.three!)?.rows === 30, 20_000)
    await out.waitFor(new RegExp(`\x1b]2;tabula ${keys.three}: this terminal \\(\\S+@\\S+ pts/\\d+\\) sets the size, 100x30\x07`))
    // Another viewer drives: the terminal is told in its title (never on the program's screen).
    const other = ws.attach(keys.three!)
    // Claimed once attached (the SDK forgets a claim made before it, when another viewer drives).
    await new Promise<void>((resolve) => other.onData(() => resolve()))
    other.resize(70, 15)
    other.setActive(true)
    await until('tab three at 70 columns', async () => sessionOf(keys.three!)?.cols === 70, 20_000)
    await out.waitFor(`\x1b]2;tabula ${keys.three}: size 70x15 set by test setup (script); resize this window to take it back\x07`)
    // A resize here claims the role back, and the session takes this terminal's size again.
    pty.resize(110, 35)
    await until('tab three at 110×35', async () => sessionOf(keys.three!)?.cols === 110 && sessionOf(keys.three!)?.rows === 35, 20_000)
    await out.waitFor('sets the size, 110x35\x07')
    other.setActive(true) // and once more, so that the detach line names the driver
    await until('tab three back at 70 columns', async () => sessionOf(keys.three!)?.cols === 70, 20_000)
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
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', keys.two!, '--home', tabula.home], {
      cols: 80,
      rows: 24,
      env: process.env as Record<string, string>,
    })
    const out = watchPty(pty)
    await until('tab two at 80 columns', async () => sessionOf(keys.two!)?.cols === 80, 20_000)
    await until('the attached terminal in presence', async () => ws.presence().some((p) => p.viewer.kind === 'terminal'), 20_000)
    expect(other.presence().map((p) => p.viewer.name)).toEqual(['test setup'])
    pty.write('exit 5\r')
    await out.waitFor(`${keys.two} exited with code 5`)
    expect(await out.exited).toBe(5)
  })

  it('refuses an unknown key with a clear message', async () => {
    const err = await tabula_('attach', 'tab-00000000-0000-4000-8000-000000000000', '--workspace', workspaceId).catch(
      (e: { stderr: string }) => e,
    )
    expect((err as { stderr: string }).stderr).toContain('no session tab-00000000-0000-4000-8000-000000000000 in cli')
  })
})

describe('tabula attach: addresses, presence, titles, an exited session, a daemon that goes away', () => {
  let multi: WorkspaceView
  let dir: string
  let mk: string[]
  let g2: string

  beforeAll(async () => {
    // Three tabs in two groups: one, two | three.
    dir = join(tabula.home, 'multi')
    mkdirSync(dir)
    multi = setup.sdk.workspace((await setup.sdk.ensureWorkspace({ path: dir })).id)
    await multi.ready
    mk = []
    for (const title of ['m-one', 'm-two', 'm-three']) mk.push(await multi.spawn({ ...TEST_SHELL, title }))
    g2 = multi.splitGroup(multi.layout().groups[0]!, 'row')
    multi.move(mk[2]!, { group: g2 })
  })

  /** The presence entries of terminal viewers on the multi workspace. */
  const terminals = () => multi.presence().filter((p) => p.viewer.kind === 'terminal')

  it('numbers `#` across the whole workspace, so that `attach <#>` addresses a tab; presence shows the attach on its own tab only', async () => {
    await until(
      'tabula tabs to show groups 1, 1, 2',
      async () => columnOf((await tabula_('tabs', dir)).stdout, 'GROUP').join() === '1,1,2',
      20_000,
    )
    expect(columnOf((await tabula_('tabs', dir)).stdout, '#')).toEqual(['1', '2', '3'])
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', '3', '--home', tabula.home], {
      cols: 80,
      rows: 24,
      cwd: dir,
      env: process.env as Record<string, string>,
    })
    const out = watchPty(pty)
    await until('one terminal in presence', async () => terminals().length === 1, 20_000)
    // Its own tab, in its own group; not the first tab of every group.
    await until(
      "the terminal to show the second group's tab active",
      async () => JSON.stringify(terminals()[0]!.activeTabs) === JSON.stringify({ [g2]: mk[2] }),
      20_000,
    )
    pty.write('\x1d')
    expect(await out.exited).toBe(0)
  })

  it('takes a unique start of a key, with or without `tab-`, and refuses an ambiguous one by listing the matches', async () => {
    for (const ref of [mk[1]!.slice(0, 12), mk[1]!.slice(4, 12)]) {
      const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', ref, '--home', tabula.home], {
        cols: 80,
        rows: 24,
        env: process.env as Record<string, string>,
      })
      const out = watchPty(pty)
      await until(
        'the terminal to show tab one active',
        async () => terminals().some((p) => Object.values(p.activeTabs).includes(mk[1]!)),
        20_000,
      )
      pty.write('\x1d')
      await out.waitFor(`[detached from ${mk[1]}]`)
      expect(await out.exited).toBe(0)
      await until('no terminal in presence', async () => terminals().length === 0, 20_000)
    }
    const err = (await tabula_('attach', 'tab-').catch((e: { stderr: string; code: number }) => e)) as { stderr: string; code: number }
    expect(err.code).toBe(1)
    expect(err.stderr).toMatch(/tab- is the start of \d+ sessions \(tab-/)
    expect(err.stderr).toContain(mk[0])
    const none = (await tabula_('attach', '9', '--workspace', dir).catch((e: { stderr: string }) => e)) as { stderr: string }
    expect(none.stderr).toContain('has 3 tab(s); there is no #9')
  })

  it('names two attaches on one host apart, and keeps the title up to date with every size change', async () => {
    const a = spawnPty(process.execPath, [TABULA_BIN, 'attach', mk[0]!, '--home', tabula.home], {
      cols: 90,
      rows: 20,
      env: process.env as Record<string, string>,
    })
    const b = spawnPty(process.execPath, [TABULA_BIN, 'attach', mk[0]!, '--watch', '--home', tabula.home], {
      cols: 80,
      rows: 24,
      env: process.env as Record<string, string>,
    })
    const outA = watchPty(a)
    const outB = watchPty(b)
    await until('two terminals in presence', async () => terminals().length === 2, 20_000)
    const names = terminals().map((p) => p.viewer.name)
    expect(new Set(names).size).toBe(2)
    // The watching one names the driving one, by the name presence shows.
    await outB.waitFor(/set by \S+@\S+ (pts\/\d+|pid \d+) \(terminal\)/)
    const nameA = names.find((n) => outB.text().includes(`set by ${n} (terminal)`))
    expect(nameA).toBeDefined()
    await outB.waitFor(`size 90x20 set by ${nameA} (terminal)`)
    a.resize(100, 30)
    await outB.waitFor(`\x1b]2;tabula ${mk[0]}: size 100x30 set by ${nameA} (terminal)\x07`)
    await outA.waitFor(`this terminal (${nameA}) sets the size, 100x30\x07`)
    a.write('\x1d')
    b.write('\x1d')
    expect(await outA.exited).toBe(0)
    expect(await outB.exited).toBe(0)
  })

  it('shows the last screen of a session that had already exited, until a key; then ends with its code', async () => {
    const key = await multi.spawn({ command: 'sh', args: ['-c', 'echo last-words-$((6*7)); exit 3'] })
    await until('the session to be exited', async () => multi.sessions().find((s) => s.key === key)?.status === 'exited', 20_000)
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', key, '--home', tabula.home], {
      cols: 80,
      rows: 24,
      env: process.env as Record<string, string>,
    })
    const out = watchPty(pty)
    await out.waitFor('last-words-42')
    await out.waitFor(`tabula ${key}: exited with code 3; press any key to leave`)
    expect(out.text()).not.toContain(`[${key} exited`)
    pty.write('q')
    await out.waitFor(`[${key} exited with code 3]`)
    expect(await out.exited).toBe(3)
  })

  it('leaves raw mode and says so when the daemon goes away, and says when it is back', async () => {
    const own = await startTabula(['up'])
    const port = new URL(own.url).port
    const home = own.home
    const client = await connect({ url: own.url, token: own.token, viewer: { name: 'test setup', kind: 'script' } })
    const view = client.workspace((await client.ensureWorkspace({ path: home })).id)
    await view.ready
    const key = await view.spawn({ ...TEST_SHELL })
    await client.close()
    const pty = spawnPty(process.execPath, [TABULA_BIN, 'attach', key, '--home', home], {
      cols: 80,
      rows: 24,
      env: process.env as Record<string, string>,
    })
    const out = watchPty(pty)
    let again: RunningTabula | undefined
    try {
      pty.write('echo first-$((1+1))\r')
      await out.waitFor('first-2')
      await own.stop('SIGKILL') // gone without a word: no close frame, no exit
      await out.waitFor('lost the connection to the daemon; keys typed now are not sent')
      // Out of raw mode: the terminal itself echoes what is typed (nothing else could).
      pty.write('typed-while-away')
      await out.waitFor('typed-while-away')
      pty.write('\r')
      again = await startTabula(['up', '--port', port], { home })
      await out.waitFor(`[tabula: reconnected to the daemon, back to ${key}]`)
      // Raw again, and the session (restored under the same key) takes keys.
      pty.write('echo back-$((2+3))\r')
      await out.waitFor('back-5')
      pty.write('\x1d')
      expect(await out.exited).toBe(0)
      expect(out.text()).not.toContain('typed-while-away: command not found')
    } finally {
      pty.kill()
      await again?.stop()
      removeHome(home)
    }
  })
})

function columnOf(table: string, name: string): string[] {
  const [header, ...rows] = table.trimEnd().split('\n')
  const at = header!.indexOf(name)
  const next = header!.slice(at + name.length).search(/\S/)
  return rows.map((r) => (next < 0 ? r.slice(at) : r.slice(at, at + name.length + next)).trim())
}

function titleColumn(table: string): string[] {
  const [header, ...rows] = table.trimEnd().split('\n')
  const at = header!.indexOf('TITLE')
  return rows.map((r) => r.slice(at).trim())
}

function sessionOf(key: string) {
  return ws.sessions().find((s) => s.key === key)
}
