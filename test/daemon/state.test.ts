/**
 * The daemon's persistent state (DaemonState, daemon/src/state/types.ts) on a real file, as the
 * migration and the routes use it.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '@tabula/server-kit'
import { openState, WorkspaceError } from '../../daemon/src/state/store.js'
import { removeHome, tempHome } from '../helpers/tabula.js'

const log = createLogger('test', 'silent')
const homes: string[] = []

function home(): string {
  const dir = tempHome('tabula-state-')
  homes.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of homes.splice(0)) removeHome(dir)
})

describe('daemon state', () => {
  it('keeps workspaces, legacy rows and migrations across a reopen, without duplicates', async () => {
    const dir = home()
    const state = await openState(dir, log)
    const id = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a'
    const created = await state.ensureWorkspace({ path: '/srv/app', id })
    expect(created).toEqual({ workspace: { id, path: '/srv/app', name: 'app' }, created: true })
    expect(await state.ensureWorkspace({ path: '/srv/app/' })).toEqual({ workspace: created.workspace, created: false })

    const row = { project_id: 'p1', workspace_id: id, layout_json: '{"tabs":[]}', path: '/srv/app' }
    await state.addLegacyLayouts([row, { ...row }])
    await state.addLegacyLayouts([row])
    await state.recordMigration('layout-v2')
    await state.recordMigration('layout-v2')
    await state.flush()

    const reopened = await openState(dir, log)
    expect(reopened.listWorkspaces()).toEqual([created.workspace])
    expect(reopened.listLegacyLayouts()).toEqual([row])
    expect(reopened.hasMigration('layout-v2')).toBe(true)
    expect(reopened.hasMigration('other')).toBe(false)
    expect(JSON.parse(readFileSync(reopened.path, 'utf8')).code_migrations).toHaveLength(1)
  })

  it('refuses an id or a path already taken by another workspace, and bad input', async () => {
    const state = await openState(home(), log)
    const { workspace } = await state.ensureWorkspace({ path: '/srv/one' })
    const attempts = [
      { path: '/srv/one', id: '9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b' },
      { path: '/srv/two', id: workspace.id },
      { path: 'relative/dir' },
      { path: '/srv/three', id: 'NOT-A-UUID' },
    ]
    for (const attempt of attempts) await expect(state.ensureWorkspace(attempt)).rejects.toBeInstanceOf(WorkspaceError)
    expect(state.listWorkspaces()).toEqual([workspace])
  })
})
