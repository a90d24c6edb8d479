/** deriveTabs, the one constructor of tabs: I2, I3 and I7 (docs/architecture.md, "Invariants") on small, readable cases. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { createGroup, placeTab, readLayout, setTitle, type Session } from '@tabula/protocol'
import { deriveTabs } from '../../client-sdk/src/derive-tabs.js'
import { Pruner } from '../../client-sdk/src/pruner.js'
import { fakeSession } from '../helpers/fake-session.js'

let clock = 0
const session = (key: string, extra: Partial<Session> = {}): Session => fakeSession(key, clock++, extra)
const live = (...sessions: Session[]) => new Map(sessions.map((s) => [s.key, s]))
const A = 'tab-00000000-0000-4000-8000-00000000000a'
const B = 'tab-00000000-0000-4000-8000-00000000000b'
const C = 'tab-00000000-0000-4000-8000-00000000000c'
const GHOST = 'tab-00000000-0000-4000-8000-0000000000ff'

describe('deriveTabs', () => {
  it('yields no tab from a layout alone (I3)', () => {
    const doc = new Y.Doc()
    placeTab(doc, A, 'main', null, null)
    setTitle(doc, A, 'named')
    expect(deriveTabs(new Map(), readLayout(doc))).toEqual([])
  })

  it('places live keys by the layout, skips phantoms, appends unplaced keys oldest first', () => {
    const doc = new Y.Doc()
    placeTab(doc, B, 'main', null, null)
    placeTab(doc, GHOST, 'main', B, null)
    placeTab(doc, A, 'main', GHOST, null)
    setTitle(doc, A, 'custom')
    const sessions = live(session(C, { title: 'vim' }), session(A), session(B))
    const tabs = deriveTabs(sessions, readLayout(doc))
    expect(tabs.map((t) => [t.key, t.index, t.title])).toEqual([
      [B, 0, 'bash'], // no custom or program title: the command
      [A, 1, 'custom'],
      [C, 2, 'vim'], // unplaced: the end of the first group, with the program's title
    ])
  })

  it('names a command given by its path by the program alone, as terminals do', () => {
    const tabs = deriveTabs(live(session(A, { command: '/usr/bin/bash' })), readLayout(new Y.Doc()))
    expect(tabs[0]!.title).toBe('bash')
  })

  it('orders unplaced keys by creation time, then key', () => {
    const same = new Date(0).toISOString()
    const tabs = deriveTabs(live(session(C, { createdAt: same }), session(B, { createdAt: same }), session(A)), readLayout(new Y.Doc()))
    expect(tabs.map((t) => t.key)).toEqual([B, C, A])
  })

  it('keeps groups in tree order, unplaced keys in the first group only', () => {
    const doc = new Y.Doc()
    const second = createGroup(doc)
    placeTab(doc, A, second, null, null)
    const tabs = deriveTabs(live(session(A), session(B)), readLayout(doc))
    expect(tabs.map((t) => [t.key, t.group, t.index])).toEqual([
      [B, 'main', 0],
      [A, second, 0],
    ])
  })

  it('carries status and exit code', () => {
    const [tab] = deriveTabs(live(session(A, { status: 'exited', exitCode: 2 })), readLayout(new Y.Doc()))
    expect(tab).toMatchObject({ status: 'exited', exitCode: 2, kind: 'terminal' })
  })
})

describe('Pruner', () => {
  it('removes an entry only after its key stayed absent for the grace, while online', () => {
    let now = 0
    const pruner = new Pruner(1000, () => now)
    const liveKeys = new Set([A])
    expect(pruner.review(true, liveKeys, [A, B])).toEqual([])
    now = 999
    expect(pruner.review(true, liveKeys, [A, B])).toEqual([])
    now = 1000
    expect(pruner.review(true, liveKeys, [A, B])).toEqual([B])
  })

  it('forgets absence seen while offline, and keys that come back', () => {
    let now = 0
    const pruner = new Pruner(1000, () => now)
    pruner.review(true, new Set(), [A, B])
    now = 500
    pruner.review(false, new Set(), [A, B]) // offline: clocks restart
    now = 1200
    expect(pruner.review(true, new Set([B]), [A, B])).toEqual([])
    now = 2200
    expect(pruner.review(true, new Set([B]), [A, B])).toEqual([A])
  })
})
