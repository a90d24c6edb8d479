import { until } from '../helpers/wait.js'
import { afterEach, describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import { DEFAULT_GROUP, initLayout, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { FLUSH_WINDOW_MS } from '@tabula/sync-server'
import { removeHome, startTabula, tempHome, type RunningTabula } from '../helpers/tabula.js'
import { connectProvider, synced, WORKSPACE } from './helpers.js'

const keys = Array.from({ length: 8 }, (_, i) => `tab-00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)

function layoutOf(doc: Y.Doc) {
  const view = readLayout(doc)
  return view.tabsByGroup.get(DEFAULT_GROUP)!.map((t) => [t.key, t.title])
}

/** The layout as the sync server's file in `home` holds it (docs/sync.md, "Storage"). */
function storedLayout(home: string) {
  const file = JSON.parse(readFileSync(join(home, 'layouts', `${WORKSPACE}.json`), 'utf8')) as { state: string }
  const doc = new Y.Doc()
  Y.applyUpdateV2(doc, Buffer.from(file.state, 'base64'))
  return layoutOf(doc)
}

describe('durability', () => {
  const running: RunningTabula[] = []
  const homes: string[] = []
  afterEach(async () => {
    for (const t of running.splice(0)) await t.stop('SIGKILL')
    for (const h of homes.splice(0)) removeHome(h)
  })

  async function edit(tabula: RunningTabula): Promise<unknown> {
    const writer = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    const witness = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    await Promise.all([synced(writer), synced(witness)])
    initLayout(writer.doc)
    let previous: string | null = null
    for (const key of keys) {
      placeTab(writer.doc, key, DEFAULT_GROUP, previous, null)
      previous = key
    }
    placeTab(writer.doc, keys[7]!, DEFAULT_GROUP, null, keys[0]!)
    setTitle(writer.doc, keys[3]!, 'renamed')
    const expected = layoutOf(writer.doc)
    // Acknowledged: another viewer has it, so the server has applied it.
    await until('the witness sees every edit', () => JSON.stringify(layoutOf(witness.doc)) === JSON.stringify(expected))
    writer.destroy()
    witness.destroy()
    return expected
  }

  async function reread(home: string): Promise<unknown> {
    const again = await startTabula(['sync'], { home })
    running.push(again)
    const reader = connectProvider(again.syncUrl, WORKSPACE, again.token)
    await synced(reader)
    const layout = layoutOf(reader.doc)
    reader.destroy()
    return layout
  }

  it('kill -9 after the flush window loses no acknowledged update', async () => {
    const home = tempHome()
    homes.push(home)
    const first = await startTabula(['sync'], { home })
    running.push(first)
    const expected = await edit(first)
    // The promise is "within the flush window": the file holds every acknowledged edit by then
    // (with room for the write), and the kill comes as soon as it does.
    await until('the file to hold every acknowledged edit', () => JSON.stringify(storedLayout(home)) === JSON.stringify(expected), {
      timeoutMs: FLUSH_WINDOW_MS * 2 + 200,
    })
    first.proc.kill('SIGKILL')
    await first.stop()
    // Stored as the merged state in Yjs update encoding v2, one file per workspace.
    const files = readdirSync(join(home, 'layouts'))
    expect(files).toEqual([`${WORKSPACE}.json`])
    expect(JSON.parse(readFileSync(join(home, 'layouts', files[0]!), 'utf8'))).toMatchObject({ encoding: 'yjs-update-v2+base64' })
    expect(await reread(home)).toEqual(expected)
  })

  it('SIGTERM right after an edit flushes before exiting', async () => {
    const home = tempHome()
    homes.push(home)
    const first = await startTabula(['sync'], { home })
    running.push(first)
    const expected = await edit(first)
    expect(await first.stop('SIGTERM')).toBe(0)
    expect(await reread(home)).toEqual(expected)
  })
})
