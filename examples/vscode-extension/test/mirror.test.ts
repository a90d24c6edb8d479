/**
 * The extension's logic against a real `tabula up` and the real SDK; only the editor is a
 * stand-in (vscode-stand-in.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type TabulaClient, type WorkspaceView } from '@tabula/client-sdk'
import { startWorkspace, TEST_SHELL, type TestWorkspace } from '../../../test/helpers/workspace.js'
import { TerminalMirror } from '../src/mirror.js'
import { createStandIn, type FakeTerminal } from './vscode-stand-in.js'

let setup: TestWorkspace
let editor: TabulaClient
let setupWs: WorkspaceView
let editorWs: WorkspaceView
let workspaceId: string
let keys: Record<string, string>

beforeAll(async () => {
  // Another viewer (standing in for a browser) edits; the editor's own client mirrors.
  setup = await startWorkspace({ titles: ['api', 'web', 'db'] })
  ;({ workspaceId, keys, ws: setupWs } = setup)
  editor = await connect({ url: setup.tabula.url, token: setup.tabula.token, viewer: { name: 'VS Code', kind: 'editor' } })
  editorWs = editor.workspace(workspaceId)
  await editorWs.ready
})

afterAll(async () => {
  await editor?.close()
  await setup?.stop()
})

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('VS Code extension: one terminal per tab, in layout order', () => {
  const vscode = createStandIn()
  let mirror: TerminalMirror
  const byName = (name: string): FakeTerminal => vscode.terminals.find((t) => t.name === name)!

  it('creates a terminal per tab, in the layout order, and shows each screen', async () => {
    mirror = new TerminalMirror(vscode.api, editor, editorWs)
    await until('three terminals', () => vscode.terminals.length === 3)
    expect(vscode.names()).toEqual(['api', 'web', 'db'])
    byName('web').type('echo in-web-$((2*21))\r')
    await until('the command output', () => byName('web').output.includes('in-web-42'))
  })

  it('re-creates terminals to follow a reorder made by another viewer (VS Code cannot move them)', async () => {
    const api = byName('api')
    setupWs.move(keys.db!, { index: 0 })
    await until('new order', () => vscode.names().join() === 'db,api,web')
    // The session kept running: the re-created terminal replays its screen.
    await until('web screen replayed', () => byName('web').output.includes('in-web-42'))
    expect(api.disposed).toBe(true)
  })

  it('renames in place', async () => {
    const db = byName('db')
    setupWs.rename(keys.db!, 'postgres')
    await until('renamed', () => vscode.names().join() === 'postgres,api,web')
    expect(byName('postgres')).toBe(db)
    expect(db.disposed).toBe(false)
  })

  it('adds a tab spawned elsewhere and drops a tab closed elsewhere', async () => {
    const key = await setupWs.spawn({ ...TEST_SHELL, title: 'worker' })
    await until('added', () => vscode.names().join() === 'postgres,api,web,worker')
    await setupWs.close(key)
    await until('removed', () => vscode.names().join() === 'postgres,api,web')
  })

  it('marks a terminal "(exited)" in place when its program ends', async () => {
    // The program waits for a line, so the terminal exists (running) before it exits.
    const key = await setupWs.spawn({ command: 'sh', args: ['-c', 'read line; exit 2'], title: 'oneshot' })
    await until('added', () => vscode.names().join() === 'postgres,api,web,oneshot')
    const oneshot = byName('oneshot')
    const handle = setupWs.attach(key)
    await new Promise<void>((resolve) => handle.onData(() => resolve()))
    handle.write('\r')
    await until('named as exited', () => vscode.names().join() === 'postgres,api,web,oneshot (exited)')
    expect(byName('oneshot (exited)')).toBe(oneshot)
    expect(oneshot.disposed).toBe(false)
    handle.dispose()
    await setupWs.close(key)
    await until('removed', () => vscode.names().join() === 'postgres,api,web')
  })

  it('closing a terminal in the editor hides the tab there but keeps the session', async () => {
    byName('api').closeByUser()
    expect(vscode.names()).toEqual(['postgres', 'web'])
    setupWs.rename(keys.web!, 'frontend')
    await until('still syncing', () => vscode.names().join() === 'postgres,frontend')
    expect(setupWs.tabs().some((t) => t.key === keys.api)).toBe(true)
    mirror.showAll()
    expect(vscode.names()).toEqual(['postgres', 'api', 'frontend'])
  })

  it('holds the terminal to the PTY size while another viewer drives, and drives once typed into', async () => {
    const other = setupWs.attach(keys.api!)
    other.setActive(true)
    other.resize(70, 15)
    const api = byName('api')
    await until('held to the other viewer size', () => api.overridden?.columns === 70 && api.overridden?.rows === 15)
    api.type('true\r')
    // Typing made the editor the driver: its own size (90x20, from the stand-in) reaches the PTY.
    await until('editor drives', () => api.overridden === undefined)
    await until('pty size follows the editor', () => {
      const s = setupWs.sessions().find((x) => x.key === keys.api)
      return s?.cols === 90 && s?.rows === 20
    })
    other.dispose()
  })

  it('disposing the mirror removes its terminals and ends no session', async () => {
    mirror.dispose()
    expect(vscode.terminals).toHaveLength(0)
    expect(setupWs.tabs()).toHaveLength(3)
  })
})
