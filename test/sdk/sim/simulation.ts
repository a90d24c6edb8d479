/**
 * A randomized model of a tabula deployment: one daemon (the authoritative key set), one sync
 * hub (a Y.Doc standing in for the sync server), and 3 to 8 viewers. Only the network is
 * simulated: messages queue per link and are delivered in a random interleaving, links drop
 * (losing what was in flight) and come back with the sync exchange y-websocket does. Everything
 * a viewer computes runs through the SDK's own code: the edit functions, the
 * real layout module, deriveTabs and the Pruner.
 *
 * Custom titles are checked against causality, read from each replica's Yjs state vector: a
 * title write "knew" another when its replica had received that write before making it. The
 * final title of a shown tab must come from a write that no other write knew.
 *
 * Pruning runs on every viewer with a logical clock (one tick per step), fed exactly what the
 * SDK feeds it: online only when the key set is fresh (a full set arrived since the daemon link
 * came up) and the document synced (the sync exchange arrived). A reference tracker, kept apart
 * from the Pruner, records how long each key has been continuously absent from each viewer's
 * live set while that viewer was online; a prune it cannot justify is a problem, and at the end a
 * shown tab may have lost its placement or custom title only if a justified prune removed it.
 */
import { readLayout, createGroup, splitGroup, closeGroup, removeTab, TABS_MAP, titledKeys, type Session } from '@tabula/protocol'
import * as Y from 'yjs'
import { deriveTabs } from '../../../client-sdk/src/derive-tabs.js'
import { dropTab, moveTab, placeNewTab, renameTab, type SeenState } from '../../../client-sdk/src/edits.js'
import { placeAt } from '../../../client-sdk/src/placement.js'
import { Pruner } from '../../../client-sdk/src/pruner.js'
import { fakeSession } from '../../helpers/fake-session.js'
import type { Tab } from '../../../client-sdk/src/api.js'
import { rngFor, type Rng } from '../../helpers/random.js'

/**
 * The pruning grace in steps of the logical clock. Long enough that most spawns are announced
 * before it runs out (as 60 s is in real life), short enough against the 150 steps of a run that
 * externally closed sessions do get pruned, so both sides of the rule are exercised.
 */
export const PRUNE_GRACE_TICKS = 25

export interface SimOptions {
  steps?: number
  /**
   * Write titles the schema 2 way, only inside the tab entry (to show the checks catch the
   * titles lost when two replicas create one entry concurrently, which schema 3 prevents).
   */
  schema2Titles?: boolean
  /**
   * Run with a faulty pruner (to show the checks catch it): 'early' prunes after a tenth of the
   * grace, 'ignores-offline' counts absence seen while offline.
   */
  faultyPruner?: 'early' | 'ignores-offline'
}

export interface SimResult {
  seed: number
  replicas: number
  problems: string[]
  stats: Record<string, number>
}

const NET = Symbol('net')
const WORKSPACE = '00000000-0000-4000-8000-000000000000'

type LiveEvent = { type: 'full'; sessions: Session[] } | { type: 'added'; session: Session } | { type: 'removed'; key: string }

interface Replica {
  index: number
  doc: Y.Doc
  /** This viewer's view of the daemon's key set. */
  live: Map<string, Session>
  syncOnline: boolean
  daemonOnline: boolean
  up: Message[]
  down: Message[]
  events: LiveEvent[]
  /** A full key set arrived since the daemon link came up (the SDK's `keySet.fresh`). */
  keysFresh: boolean
  /** The sync exchange arrived since the sync link came up (the provider's `synced`). */
  docSynced: boolean
  pruner: Pruner
  /** Reference: since when (tick) each key has been absent from `live` while online, without a break. */
  absentSince: Map<string, number>
}

type Message = Uint8Array

/**
 * A custom-title write. It is the Yjs transaction ending at `clock` of `client`; `knew` is its
 * replica's state vector just before it, so it knew every write of a client below that clock.
 */
interface TitleOp {
  key: string
  value: string | null
  client: number
  clock: number
  knew: Map<number, number>
}

function knows(later: TitleOp, earlier: TitleOp): boolean {
  return (later.knew.get(earlier.client) ?? 0) > earlier.clock
}

function stateVector(doc: Y.Doc): Map<number, number> {
  return Y.decodeStateVector(Y.encodeStateVector(doc))
}

export function runSimulation(seed: number, options: SimOptions = {}): SimResult {
  const rng = rngFor(seed)
  // The layout module draws order jitter and node ids from crypto; drawing them from the seed
  // instead makes a failing seed replay exactly.
  const restore = seedCrypto(rngFor(seed ^ 0x9e3779b9))
  try {
    return simulate(seed, rng, options)
  } finally {
    restore()
  }
}

function seedCrypto(rng: Rng): () => void {
  const c = globalThis.crypto as { getRandomValues: Crypto['getRandomValues']; randomUUID: Crypto['randomUUID'] }
  const { getRandomValues, randomUUID } = c
  c.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
    if (array instanceof Uint8Array) for (let i = 0; i < array.length; i++) array[i] = Math.floor(rng() * 256)
    return array
  }) as Crypto['getRandomValues']
  c.randomUUID = (() => {
    const hex = () => Math.floor(rng() * 16).toString(16)
    const run = (n: number) => Array.from({ length: n }, hex).join('')
    return `${run(8)}-${run(4)}-4${run(3)}-a${run(3)}-${run(12)}` as `${string}-${string}-${string}-${string}-${string}`
  }) as Crypto['randomUUID']
  return () => {
    c.getRandomValues = getRandomValues
    c.randomUUID = randomUUID
  }
}

function simulate(seed: number, rng: Rng, options: SimOptions): SimResult {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!
  const chance = (p: number) => rng() < p
  const count = 3 + Math.floor(rng() * 6)
  const steps = options.steps ?? 150
  const stats: Record<string, number> = {}
  const bump = (name: string) => (stats[name] = (stats[name] ?? 0) + 1)

  let clock = 0
  const uuid = (): string => {
    const hex = () => Math.floor(rng() * 16).toString(16)
    const run = (n: number) => Array.from({ length: n }, hex).join('')
    return `${run(8)}-${run(4)}-4${run(3)}-${pick(['8', '9', 'a', 'b'])}${run(3)}-${run(12)}`
  }
  const session = (key: string): Session => fakeSession(key, clock, { workspace: WORKSPACE, command: 'sh', pid: 1000 + clock++ })

  // ── the daemon ──
  const daemon = new Map<string, Session>()
  const broadcast = (event: LiveEvent) => {
    for (const r of replicas) if (r.daemonOnline) r.events.push(event)
  }
  const daemonAdd = (key: string) => {
    if (daemon.has(key)) return
    const s = session(key)
    daemon.set(key, s)
    broadcast({ type: 'added', session: s })
  }
  const daemonRemove = (key: string) => {
    if (!daemon.delete(key)) return
    broadcast({ type: 'removed', key })
  }

  // ── the sync hub ──
  const hub = new Y.Doc()
  hub.on('update', (update: Uint8Array, origin: unknown) => {
    for (const r of replicas) if (r.syncOnline && origin !== r) r.down.push(update)
  })

  // ── pruning: a logical clock, and what each prune was based on ──
  let now = 0
  const pruneGrace = options.faultyPruner === 'early' ? Math.floor(PRUNE_GRACE_TICKS / 10) : PRUNE_GRACE_TICKS
  /** Keys some replica pruned when the reference said it had waited out the grace. */
  const justifiedPrunes = new Set<string>()
  const unjustified: string[] = []
  /** Keys that have had a layout entry at some point (so a missing one at the end was lost). */
  const everPlaced = new Set<string>()

  const replicas: Replica[] = []
  for (let i = 0; i < count; i++) {
    const doc = new Y.Doc()
    doc.clientID = seed * 16 + i + 1
    const r: Replica = {
      index: i,
      doc,
      live: new Map(),
      syncOnline: true,
      daemonOnline: true,
      up: [],
      down: [],
      events: [],
      keysFresh: false,
      docSynced: false,
      pruner: new Pruner(pruneGrace, () => now),
      absentSince: new Map(),
    }
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== NET && r.syncOnline) r.up.push(update)
    })
    replicas.push(r)
  }

  /** The sync exchange messages, so their arrival can mark a replica synced. */
  const exchanges = new WeakSet<Message>()
  const connectSync = (r: Replica) => {
    r.syncOnline = true
    // y-websocket's exchange: each side sends what the other's state vector lacks.
    const exchange = Y.encodeStateAsUpdate(hub, Y.encodeStateVector(r.doc))
    exchanges.add(exchange)
    r.down.push(exchange)
    r.up.push(Y.encodeStateAsUpdate(r.doc, Y.encodeStateVector(hub)))
  }
  const dropSync = (r: Replica) => {
    r.syncOnline = false
    r.docSynced = false
    r.up = []
    r.down = []
    tick(r)
  }
  const connectDaemon = (r: Replica) => {
    r.daemonOnline = true
    r.keysFresh = false
    r.events = [{ type: 'full', sessions: [...daemon.values()] }]
    tick(r)
  }
  const dropDaemon = (r: Replica) => {
    r.daemonOnline = false
    r.keysFresh = false
    r.events = []
    tick(r)
  }

  /** What the SDK passes the Pruner as `online`: a fresh key set and a synced document. */
  const online = (r: Replica) => r.daemonOnline && r.keysFresh && r.syncOnline && r.docSynced
  /**
   * After anything that changes what `r` sees (or when time passes): the reference tracker
   * first, then the Pruner, as the SDK's view reviews pruning on every change and timer.
   */
  const tick = (r: Replica) => {
    const tabs = r.doc.getMap<unknown>(TABS_MAP)
    for (const key of tabs.keys()) everPlaced.add(key)
    const stored = new Set([...tabs.keys(), ...titledKeys(r.doc)])
    if (!online(r)) r.absentSince.clear()
    else {
      for (const key of r.absentSince.keys()) if (r.live.has(key)) r.absentSince.delete(key)
      for (const key of stored) if (!r.live.has(key) && !r.absentSince.has(key)) r.absentSince.set(key, now)
    }
    const due = r.pruner.review(options.faultyPruner === 'ignores-offline' || online(r), r.live, stored)
    if (due.length === 0) return
    for (const key of due) {
      const since = r.absentSince.get(key)
      if (since !== undefined && now - since >= PRUNE_GRACE_TICKS) justifiedPrunes.add(key)
      else
        unjustified.push(
          `replica ${r.index} pruned ${key} at tick ${now}, absent while online since ${since ?? 'never'} (grace ${PRUNE_GRACE_TICKS})`,
        )
    }
    r.doc.transact(() => {
      for (const key of due) removeTab(r.doc, key)
    })
    bump('prune')
  }

  /** Delivers one queued message somewhere; false when nothing is queued. */
  const deliverOne = (): boolean => {
    const links: Array<() => void> = []
    for (const r of replicas) {
      if (r.up.length)
        links.push(() => {
          Y.applyUpdate(hub, r.up.shift()!, r)
        })
      if (r.down.length)
        links.push(() => {
          const message = r.down.shift()!
          Y.applyUpdate(r.doc, message, NET)
          if (exchanges.has(message)) r.docSynced = true
          tick(r)
        })
      if (r.events.length)
        links.push(() => {
          applyEvent(r, r.events.shift()!)
          tick(r)
        })
    }
    if (links.length === 0) return false
    pick(links)()
    return true
  }
  const applyEvent = (r: Replica, event: LiveEvent) => {
    if (event.type === 'full') {
      r.keysFresh = true
      r.live.clear()
      for (const s of event.sessions) r.live.set(s.key, s)
    } else if (event.type === 'added') r.live.set(event.session.key, event.session)
    else r.live.delete(event.key)
  }

  const seen = (r: Replica): SeenState => {
    const layout = readLayout(r.doc)
    return { layout, tabs: deriveTabs(r.live, layout) }
  }

  // ── custom-title bookkeeping ──
  const titleOps: TitleOp[] = []
  const recordTitle = (r: Replica, key: string, value: string | null, write: () => void) => {
    // A write that changes nothing (the same title again, clearing an absent one) is no write.
    if (currentTitle(r.doc, key) === value) return write()
    const knew = stateVector(r.doc)
    write()
    const clock = (stateVector(r.doc).get(r.doc.clientID) ?? 0) - 1
    // (A deletion adds no struct, so it could not be told apart: title writes are all sets.)
    if (clock < (knew.get(r.doc.clientID) ?? 0)) throw new Error(`replica ${r.index}: a title change on ${key} wrote nothing`)
    titleOps.push({ key, value, client: r.doc.clientID, clock, knew })
  }
  /** Schema 2's title write: into the entry only (creating it where the tab is shown); a clear is "", as its SDK wrote. */
  const schema2Title = (doc: Y.Doc, view: SeenState, key: string, value: string | null, group: string, index?: number) => {
    doc.transact(() => {
      if (!view.layout.placements.has(key)) placeAt(doc, view.layout, view.tabs, key, group, index)
      const entry = doc.getMap<unknown>(TABS_MAP).get(key) as Y.Map<unknown>
      entry.set('title', value ?? '')
    })
  }

  let titleCounter = 0
  // Some keys exist before the viewers connect (placed by nobody yet).
  for (let i = 0; i < 3; i++) daemonAdd(`tab-${uuid()}`)
  for (const r of replicas) {
    connectDaemon(r)
    connectSync(r)
  }

  for (let step = 0; step < steps; step++) {
    // Time passes for everyone; a viewer whose prune clock ran out looks again (the SDK's
    // timer). Everything else that changes what a viewer sees ticks it where it happens.
    now++
    for (const other of replicas) if (other.pruner.nextDueIn() === 0) tick(other)
    const r = pick(replicas)
    const view = seen(r)
    const roll = rng()
    if (roll < 0.22 && view.tabs.length > 0) {
      const tab = pick(view.tabs)
      const group = chance(0.7) ? tab.group : pick(view.layout.groups)
      moveTab(r.doc, view, tab.key, { group, index: Math.floor(rng() * (view.tabs.length + 1)) })
      bump('move')
    } else if (roll < 0.42 && view.tabs.length > 0) {
      const tab = pick(view.tabs)
      const value = chance(0.15) ? null : `t${titleCounter++}`
      recordTitle(r, tab.key, value, () =>
        options.schema2Titles ? schema2Title(r.doc, view, tab.key, value, tab.group, tab.index) : renameTab(r.doc, view, tab.key, value),
      )
      bump('rename')
    } else if (roll < 0.52) {
      const key = `tab-${uuid()}`
      const title = chance(0.3) ? `t${titleCounter++}` : undefined
      const where = { group: pick(view.layout.groups), index: Math.floor(rng() * (view.tabs.length + 1)), ...(title && { title }) }
      if (title && options.schema2Titles) recordTitle(r, key, title, () => schema2Title(r.doc, view, key, title, where.group, where.index))
      else if (title) recordTitle(r, key, title, () => placeNewTab(r.doc, view, key, where))
      else placeNewTab(r.doc, view, key, where)
      // The daemon answers only a viewer that can reach it; a failed spawn drops its placement.
      if (r.daemonOnline) daemonAdd(key)
      else dropTab(r.doc, key)
      bump('spawn')
    } else if (roll < 0.6 && view.tabs.length > 0 && r.daemonOnline) {
      const tab = pick(view.tabs)
      daemonRemove(tab.key)
      dropTab(r.doc, tab.key)
      bump('close')
    } else if (roll < 0.63) {
      // Outside the viewers: a CLI spawns or closes at the daemon.
      if (chance(0.5) || daemon.size === 0) daemonAdd(`tab-${uuid()}`)
      else daemonRemove(pick([...daemon.keys()]))
      bump('external')
    } else if (roll < 0.67) {
      const groups = view.layout.groups
      const g = rng()
      if (g < 0.4) createGroup(r.doc, pick(groups))
      else if (g < 0.7) splitGroup(r.doc, pick(groups), chance(0.5) ? 'row' : 'column')
      else if (groups.length > 1) closeGroup(r.doc, pick(groups))
      bump('group')
    } else if (roll < 0.74) {
      if (r.syncOnline) dropSync(r)
      else connectSync(r)
      bump('sync-partition')
    } else if (roll < 0.78) {
      if (r.daemonOnline) dropDaemon(r)
      else connectDaemon(r)
      bump('daemon-partition')
    } else if (roll < 0.8) {
      // Time passes with nothing else happening: prune clocks run out.
      now += PRUNE_GRACE_TICKS
      bump('idle')
    } else {
      const n = 1 + Math.floor(rng() * 6)
      for (let i = 0; i < n; i++) deliverOne()
    }
    tick(r)
  }

  // Heal everything and let the network drain.
  for (const r of replicas) {
    if (!r.syncOnline) connectSync(r)
    connectDaemon(r)
  }
  let guard = 0
  while (deliverOne()) if (++guard > 1_000_000) break

  const problems = [...unjustified, ...check(replicas, daemon, titleOps, justifiedPrunes)]
  // A shown tab keeps its layout entry unless a justified prune removed it.
  const entries = replicas[0]!.doc.getMap<unknown>(TABS_MAP)
  for (const key of daemon.keys()) {
    if (everPlaced.has(key) && !entries.has(key) && !justifiedPrunes.has(key))
      problems.push(`${key}: lost its placement without a justified prune`)
  }
  return { seed, replicas: count, problems, stats }
}

function currentTitle(doc: Y.Doc, key: string): string | null {
  return readLayout(doc).placements.get(key)?.title ?? null
}

function check(replicas: Replica[], daemon: Map<string, Session>, titleOps: TitleOp[], justifiedPrunes: Set<string>): string[] {
  const problems: string[] = []
  const liveKeys = [...daemon.keys()].sort()
  const views = replicas.map((r) => deriveTabs(r.live, readLayout(r.doc)))
  const first = JSON.stringify(views[0])
  views.forEach((tabs, i) => {
    if (JSON.stringify(tabs) !== first)
      problems.push(`replica ${i} shows different tabs than replica 0:\n  ${describe(tabs)}\n  ${describe(views[0]!)}`)
    const keys = tabs.map((t) => t.key)
    if (new Set(keys).size !== keys.length) problems.push(`replica ${i} shows a key twice: ${keys.join(', ')}`)
    if (JSON.stringify([...keys].sort()) !== JSON.stringify(liveKeys)) problems.push(`replica ${i} does not show exactly the live keys`)
  })
  // No custom title lost unless a later one replaced it: the final title must be the value of
  // one of the writes that no other write knew.
  const finalTabs = new Map(views[0]!.map((t) => [t.key, t]))
  const byKey = new Map<string, TitleOp[]>()
  // A key a justified prune removed may have lost its title with its entry (docs/sdk.md, "Pruning").
  for (const op of titleOps)
    if (finalTabs.has(op.key) && !justifiedPrunes.has(op.key)) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op])
  for (const [key, ops] of byKey) {
    const maximal = ops.filter((a) => !ops.some((b) => b !== a && knows(b, a)))
    const allowed = new Set(maximal.map((op) => op.value))
    const final = finalTabs.get(key)!.customTitle
    if (!allowed.has(final)) {
      problems.push(`${key}: custom title ${JSON.stringify(final)}, expected one of ${JSON.stringify([...allowed])} (latest writes)`)
      if (process.env.SIM_DEBUG) for (const op of ops) console.log(op.value, `${op.client}@${op.clock}`, JSON.stringify([...op.knew]))
    }
  }
  return problems
}

function describe(tabs: Tab[]): string {
  return tabs.map((t) => `${t.group.slice(0, 4)}/${t.key.slice(4, 8)}:${t.customTitle ?? '-'}`).join(' ')
}
