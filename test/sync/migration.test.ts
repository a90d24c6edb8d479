import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { DEFAULT_GROUP, placeTab, readLayout, type LayoutView } from '@tabula/protocol'
import { openState } from '@tabula/daemon'
import { createSyncServer } from '@tabula/sync-server'
import { runBootMigration, LAYOUT_MIGRATION_ID } from '../../cli/src/migration.js'
import { removeHome, startTabula, tempHome, TABULA_BIN } from '../helpers/tabula.js'
import { connectProvider, synced } from './helpers.js'
import { readK2soFixture } from '../helpers/fixtures.js'

const fixture = readK2soFixture()
const WS: string = fixture.workspace.id
const expectedKeys: string[] = fixture.expected.migrated_keys_in_order
const row = { ...fixture.workspace_layouts_row, path: fixture.workspace.path }

function importLayouts(home: string, rows: unknown): { status: number | null; stdout: string; stderr: string } {
  const file = join(home, 'rows.json')
  writeFileSync(file, JSON.stringify(rows))
  const run = spawnSync(process.execPath, [TABULA_BIN, 'import-layouts', file, '--home', home], {
    encoding: 'utf8',
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

async function readThroughServer(home: string, edit?: (view: LayoutView, doc: import('yjs').Doc) => void): Promise<LayoutView> {
  const tabula = await startTabula(['sync'], { home })
  try {
    const p = connectProvider(tabula.syncUrl, WS, tabula.token)
    await synced(p)
    if (edit) {
      edit(readLayout(p.doc), p.doc)
      // Make sure the server has it before stopping (SIGTERM flushes what it has): another viewer sees it.
      const witness = connectProvider(tabula.syncUrl, WS, tabula.token)
      const same = () => JSON.stringify(tabsOf(readLayout(witness.doc))) === JSON.stringify(tabsOf(readLayout(p.doc)))
      await until('the witness sees the edit', same)
      witness.destroy()
    }
    const view = readLayout(p.doc)
    p.destroy()
    return view
  } finally {
    await tabula.stop()
  }
}

const tabsOf = (view: LayoutView) => view.tabsByGroup.get(DEFAULT_GROUP)!.map((t) => [t.key, t.title])

describe('tabula import-layouts with the k2so fixture', () => {
  let home: string
  beforeAll(() => {
    home = tempHome()
  })
  afterAll(() => removeHome(home))

  it('creates the workspace, converts 6 entries to 3 tabs and says so', async () => {
    const run = importLayouts(home, [row])
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(run.stdout).toBe(`${WS}: 6 -> 3 tabs\n`)
    const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8'))
    expect(JSON.stringify(state)).toContain(LAYOUT_MIGRATION_ID)
    expect(JSON.stringify(state)).toContain(fixture.workspace.path)
  })

  it('the document holds the expected keys, titles and order, and nothing per client', async () => {
    const view = await readThroughServer(home)
    expect(tabsOf(view)).toEqual(expectedKeys.map((k) => [k, fixture.expected.titles[k]]))
    const stored = readFileSync(join(home, 'layouts', `${WS}.json`), 'utf8')
    const decoded = Buffer.from(JSON.parse(stored).state, 'base64').toString('latin1')
    expect(decoded).not.toMatch(/acef6309|f9f775cc|activeTabId/) // session id, active tab
  })

  it('importing the same rows again changes nothing', () => {
    const file = join(home, 'layouts', `${WS}.json`)
    const before = readFileSync(file, 'utf8')
    const stateBefore = readFileSync(join(home, 'state.json'), 'utf8')
    const run = importLayouts(home, [row])
    expect(run.status).toBe(0)
    expect(run.stdout).toBe(`${WS}: its layout document already exists; not seeded again\n`)
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(readFileSync(join(home, 'state.json'), 'utf8')).toBe(stateBefore)
  })

  it('never overwrites edits made after the migration', async () => {
    const edited = await readThroughServer(home, (view, doc) => {
      const [first, second, third] = view.tabsByGroup.get(DEFAULT_GROUP)!.map((t) => t.key)
      placeTab(doc, third!, DEFAULT_GROUP, null, first!)
      void second
    })
    importLayouts(home, [row])
    const after = await readThroughServer(home)
    expect(tabsOf(after)).toEqual(tabsOf(edited))
    expect(tabsOf(after)[0]![0]).toBe(expectedKeys[2])
  })

  it('refuses while a tabula runs on the same home, saying why', async () => {
    const tabula = await startTabula(['sync'], { home })
    try {
      const run = importLayouts(home, [row])
      expect(run.status).toBe(1)
      expect(run.stderr).toMatch(/tabula is running under .* \(pid \d+.*Stop it first/)
    } finally {
      await tabula.stop()
    }
  })

  it('reports malformed rows and converts the good ones', () => {
    const other = tempHome()
    try {
      const good = {
        project_id: '3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a',
        workspace_id: null,
        path: '/tmp/x',
        layout_json: JSON.stringify({ tabs: [] }),
      }
      const run = importLayouts(other, [good, { project_id: 5 }, { ...good, project_id: 'nope' }])
      expect(run.stderr).toMatch(/row 1: project_id must be a string/)
      expect(run.stdout).toContain(`${good.project_id}: 0 -> 0 tabs`)
      expect(run.stdout).toMatch(/nope: not a workspace id/)
      expect(run.status).toBe(1)
    } finally {
      removeHome(other)
    }
  })
})

describe('the boot migration over legacy rows already in the state', () => {
  it('converts once, records layout-v2, and never runs again', async () => {
    const home = tempHome()
    const lines: string[] = []
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, done) => (lines.push(JSON.parse(c.toString()).msg), done()) }))
    try {
      const state = await openState(home, log)
      await state.addLegacyLayouts([row])
      const sync = await createSyncServer({ home, log })
      await runBootMigration({ daemon: { state }, sync, log })
      expect(lines).toContain(`${WS}: 6 -> 3 tabs`)
      expect(state.hasMigration(LAYOUT_MIGRATION_ID)).toBe(true)
      expect(state.getWorkspace(WS)?.path).toBe(fixture.workspace.path)

      lines.length = 0
      await runBootMigration({ daemon: { state }, sync, log })
      expect(lines).toEqual([]) // recorded: not even looked at again
      await sync.close()
      await state.flush()

      const view = await readThroughServer(home)
      expect(view.tabsByGroup.get(DEFAULT_GROUP)!.map((t) => t.key)).toEqual(expectedKeys)
    } finally {
      removeHome(home)
    }
  })
})
