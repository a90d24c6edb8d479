/**
 * Custom titles are bounded (MAX_TITLE_CHARS, docs/sync.md): one written whole by a stock Yjs
 * client is shown cut, and the SDK's own writes are cut before they reach the document.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { MAX_TITLE_CHARS, readLayout, setTitle } from '@tabula/protocol'
import { deriveTabs } from '../../client-sdk/src/derive-tabs.js'
import { fakeSession } from '../helpers/fake-session.js'

const KEY = 'tab-00000000-0000-4000-8000-000000000001'

it('a 5 MB custom title stored by another client is shown cut to MAX_TITLE_CHARS', () => {
  const doc = new Y.Doc()
  setTitle(doc, KEY, 'short')
  const entry = doc.getMap('tabs').get(KEY) as Y.Map<unknown>
  entry.set('title', 'x'.repeat(5_000_000)) // written raw, as any y-websocket client could
  const layout = readLayout(doc)
  expect(layout.placements.get(KEY)!.title).toHaveLength(MAX_TITLE_CHARS)
  const session = fakeSession(KEY, 0)
  const [tab] = deriveTabs(new Map([[KEY, session]]), layout)
  expect(tab!.title).toHaveLength(MAX_TITLE_CHARS)
  // And a program's own title, as a daemon of another version might report it.
  const [own] = deriveTabs(new Map([[KEY, { ...session, title: 'p'.repeat(100_000) }]]), readLayout(new Y.Doc()))
  expect(own!.title).toHaveLength(MAX_TITLE_CHARS)
})

it('setTitle cuts what it stores', () => {
  const doc = new Y.Doc()
  setTitle(doc, KEY, 'y'.repeat(10_000))
  expect(((doc.getMap('tabs').get(KEY) as Y.Map<unknown>).get('title') as string).length).toBe(MAX_TITLE_CHARS)
})
