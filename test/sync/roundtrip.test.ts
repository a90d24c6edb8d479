import { until } from '../helpers/wait.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { DEFAULT_GROUP, initLayout, placeTab, readLayout, setTitle } from '@tabula/protocol'
import { startTabula, removeHome, type RunningTabula } from '../helpers/tabula.js'
import { connectProvider, synced, WORKSPACE } from './helpers.js'

const KEY_A = 'tab-6f1c2d3e-4a5b-4c6d-8e7f-901234567890'
const KEY_B = 'tab-7a8b9c0d-1e2f-4a3b-9c4d-5e6f70819203'

describe('tabula sync with the stock y-websocket provider', () => {
  let tabula: RunningTabula
  beforeAll(async () => {
    tabula = await startTabula(['sync'])
  })
  afterAll(async () => {
    await tabula?.stop()
    if (tabula) removeHome(tabula.home)
  })

  it('writes runtime.json with syncUrl and answers health without a token', async () => {
    expect(tabula.syncUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(tabula.syncUrl + '/v1/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ ok: true })
  })

  it('carries edits between two viewers, both ways', async () => {
    const a = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    const b = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    try {
      await Promise.all([synced(a), synced(b)])
      expect(a.ws?.protocol).toBe('tabula.v1') // selected, and the bearer entry never echoed
      initLayout(a.doc)
      placeTab(a.doc, KEY_A, DEFAULT_GROUP, null, null)
      setTitle(a.doc, KEY_A, 'server')
      await until("B sees A's tab and title", () => readLayout(b.doc).placements.get(KEY_A)?.title === 'server')
      placeTab(b.doc, KEY_B, DEFAULT_GROUP, null, KEY_A)
      await until("A sees B's tab", () => readLayout(a.doc).placements.has(KEY_B))
      const order = (doc: Y.Doc) =>
        readLayout(doc)
          .tabsByGroup.get(DEFAULT_GROUP)!
          .map((t) => t.key)
      expect(order(a.doc)).toEqual([KEY_B, KEY_A])
      expect(order(b.doc)).toEqual(order(a.doc))
    } finally {
      a.destroy()
      b.destroy()
    }
  })

  it('a viewer that joins later gets the whole document', async () => {
    const late = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    try {
      await synced(late)
      expect(readLayout(late.doc).placements.get(KEY_A)?.title).toBe('server')
    } finally {
      late.destroy()
    }
  })

  it('a stock client with a plain Y.Doc reads the title where schema 3 keeps it, and where schema 2 kept it', async () => {
    const plain = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    try {
      await synced(plain)
      // Read with nothing of ours: the stock provider's document, by the names docs/sync.md gives.
      expect(plain.doc.getMap('meta').get('schema')).toBe(3)
      expect(plain.doc.getMap('titles').get(KEY_A)).toBe('server')
      expect((plain.doc.getMap('tabs').get(KEY_A) as Y.Map<unknown>).get('title')).toBe('server')
      // A stock client that writes the schema 2 way (the entry's title alone) is read by schema 3.
      ;(plain.doc.getMap('tabs').get(KEY_A) as Y.Map<unknown>).set('title', 'stock')
      const reader = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
      try {
        await until(
          "a schema 3 reader sees the stock client's rename",
          () => readLayout(reader.doc).placements.get(KEY_A)?.title === 'stock',
        )
      } finally {
        reader.destroy()
      }
    } finally {
      plain.destroy()
    }
  })

  it("relays presence, and removes a viewer's presence when its connection closes", async () => {
    const a = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    const b = connectProvider(tabula.syncUrl, WORKSPACE, tabula.token)
    try {
      await Promise.all([synced(a), synced(b)])
      a.awareness.setLocalStateField('viewer', { name: 'phone', activeTab: KEY_A })
      const aId = a.doc.clientID
      await until(
        "B sees A's presence",
        () => (b.awareness.getStates().get(aId) as { viewer?: { activeTab: string } } | undefined)?.viewer?.activeTab === KEY_A,
      )
      // Closing the socket without a goodbye (as a killed tab would): the server must announce it.
      a.shouldConnect = false
      const socket = a.ws as unknown as import('ws').WebSocket | null
      socket?.terminate() // the ws polyfill's hard close: no goodbye is sent
      await until("A's presence is gone from B", () => !b.awareness.getStates().has(aId))
    } finally {
      a.destroy()
      b.destroy()
    }
  })
})
