// What the sync benchmarks (sync.bench.mjs, sync-redis.bench.mjs) share: server child processes
// asked over IPC, the fan-out rounds, the raw clients of the memory load, and small helpers.
// Not a benchmark itself (run.mjs runs *.bench.mjs only).
import { fork } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import * as Y from 'yjs'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as layout from '@tabula/protocol'

export const FANOUT_CLIENTS = 20
export const FANOUT_WARMUP = 20
/**
 * The memory load holds about 2,000 sockets at once, over the server's default bound on
 * connections (MAX_HTTP_CONNECTIONS); the benchmark's servers are given room for it.
 */
export const BENCH_MAX_CONNECTIONS = 4096
export const CLIENTS_PER_DOC = 2

/** Forks `file --child ...args` with --expose-gc; `ask(cmd)` sends one IPC request and resolves to its answer. */
export function startChild(file, args) {
  const proc = fork(file, ['--child', ...args], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let next = 0
  const waiting = new Map()
  proc.on('message', (msg) => {
    if (msg.ready) return
    waiting.get(msg.id)?.(msg)
    waiting.delete(msg.id)
  })
  const ready = new Promise((resolve) => proc.once('message', (m) => resolve(m.port)))
  return {
    ready,
    ask(cmd, extra = {}) {
      const id = ++next
      return new Promise((resolve) => {
        waiting.set(id, resolve)
        proc.send({ id, cmd, ...extra })
      })
    },
  }
}

/** The child's side of `mem`: memory after three forced GCs. */
export function memoryAfterGc() {
  for (let i = 0; i < 3; i++) global.gc?.()
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers }
}

/**
 * One writer and FANOUT_CLIENTS receivers on a fresh room (`provider(i, room)` makes the i-th,
 * the writer being 0). Each round the writer renames a tab; a sample is the time from the edit to
 * one receiver's doc update, and the round ends when all have it.
 */
export async function fanoutSetup(provider) {
  const room = crypto.randomUUID()
  const writer = provider(0, room)
  const receivers = Array.from({ length: FANOUT_CLIENTS }, (_, i) => provider(i, room))
  await Promise.all([writer, ...receivers].map(synced))
  const key = layout.newTabKey()
  let sentAt = 0
  let pending = 0
  let done = () => {}
  let recording = false
  const samples = []
  for (const r of receivers) {
    r.doc.on('update', () => {
      if (recording) samples.push(performance.now() - sentAt)
      if (--pending === 0) done()
    })
  }
  return {
    async round(i, record) {
      recording = record
      pending = FANOUT_CLIENTS
      const all = new Promise((resolve) => (done = resolve))
      sentAt = performance.now()
      layout.setTitle(writer.doc, key, `title ${i}`)
      await all
    },
    finish() {
      for (const p of [writer, ...receivers]) p.destroy()
      samples.sort((a, b) => a - b)
      return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), samples: samples.length }
    },
  }
}

/** A realistic small layout as one update: 8 tabs in two groups, with titles. */
export function smallLayoutUpdate() {
  const seed = new Y.Doc()
  layout.initLayout(seed)
  const other = layout.splitGroup(seed, layout.DEFAULT_GROUP, 'row')
  let prev = null
  for (let i = 0; i < 8; i++) {
    const key = layout.newTabKey()
    layout.placeTab(seed, key, i < 5 ? layout.DEFAULT_GROUP : other, i === 5 ? null : prev, null)
    layout.setTitle(seed, key, `tab ${i}`)
    prev = key
  }
  return Y.encodeStateAsUpdate(seed)
}

/** A minimal y-websocket client: sync step 1, a presence state, optionally an update. */
export function rawClient(url, protocols, update, sockets) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols)
    sockets.push(ws)
    ws.on('error', reject)
    ws.on('open', () => {
      ws.send(
        frame((e) => {
          encoding.writeVarUint(e, 0)
          encoding.writeVarUint(e, 0)
          encoding.writeVarUint8Array(e, new Uint8Array([0]))
        }),
      )
      const state = JSON.stringify({ viewer: { name: 'bench', activeTab: null } })
      const inner = frame((e) => {
        encoding.writeVarUint(e, 1)
        encoding.writeVarUint(e, (Math.random() * 2 ** 31) >>> 0)
        encoding.writeVarUint(e, 1)
        encoding.writeVarString(e, state)
      })
      ws.send(
        frame((e) => {
          encoding.writeVarUint(e, 1)
          encoding.writeVarUint8Array(e, inner)
        }),
      )
      if (update)
        ws.send(
          frame((e) => {
            encoding.writeVarUint(e, 0)
            encoding.writeVarUint(e, 2)
            encoding.writeVarUint8Array(e, update)
          }),
        )
      resolve()
    })
  })
}

function frame(write) {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

export function synced(p) {
  return p.synced ? Promise.resolve() : new Promise((resolve) => p.once('sync', (s) => s && resolve()))
}

export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

/** Polls `probe` (async, returning the loaded-doc count) until it reaches `target` or 10 s pass. */
export async function waitLoaded(probe, target) {
  let loaded = 0
  for (let tries = 0; tries < 200; tries++) {
    loaded = await probe()
    if (loaded >= target) break
    await sleep(50)
  }
  return loaded
}
