/**
 * The setup most viewer tests share: a real `tabula up`, one workspace at its home, and a setup
 * viewer (an SDK client, as any embedding program would be) that has spawned titled shells.
 */
import { connect, type TabulaClient, type WorkspaceView } from '@tabula/client-sdk'
import { removeHome, startTabula, type RunningTabula } from './tabula.js'

/** A quiet, predictable shell for tests: no rc files, a `$ ` prompt. */
export const TEST_SHELL = { command: 'bash', args: ['--noprofile', '--norc'], env: { PS1: '$ ', TERM: 'xterm-256color' } }

export interface TestWorkspace {
  tabula: RunningTabula
  workspaceId: string
  /** The setup viewer's client and its view of the workspace. */
  sdk: TabulaClient
  ws: WorkspaceView
  /** title → session key of the shells spawned at start. */
  keys: Record<string, string>
  /** Closes the setup viewer, stops tabula and removes its home. */
  stop(): Promise<void>
}

/** `args` go to `tabula up` (e.g. `--public-host`). */
export async function startWorkspace(opts: { name?: string; titles: string[]; args?: string[] }): Promise<TestWorkspace> {
  const tabula = await startTabula(['up', ...(opts.args ?? [])])
  const sdk = await connect({ url: tabula.url, token: tabula.token, viewer: { name: 'test setup', kind: 'script' } })
  const workspaceId = (await sdk.ensureWorkspace({ path: tabula.home, ...(opts.name ? { name: opts.name } : {}) })).id
  const ws = sdk.workspace(workspaceId)
  await ws.ready
  const keys: Record<string, string> = {}
  for (const title of opts.titles) keys[title] = await ws.spawn({ ...TEST_SHELL, title })
  return {
    tabula,
    workspaceId,
    sdk,
    ws,
    keys,
    async stop() {
      await sdk.close()
      await tabula.stop()
      removeHome(tabula.home)
    },
  }
}
