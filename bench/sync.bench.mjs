// Sync server benchmark: tabula's sync server against the reference y-websocket server
// (y-websocket 1.5.4's bin/utils setupWSConnection on a plain ws server), same machine, same
// load, one run. Each server runs in its own child process (this file, with --child), so their
// memory is measured apart and neither shares a heap with the clients.
//
//   node --expose-gc bench/sync.bench.mjs            (or: npm run bench -- sync)
//   SYNC_BENCH_QUICK=1 ...                           fewer rounds/docs, for development
//
// Measures:
//   1. update fan-out latency to 20 clients (p50, p99): one writer, 20 stock WebsocketProviders;
//      time from the writer's edit to each receiver's doc update.
//   2. memory for 1,000 loaded workspace documents with 2 clients each (server RSS and heap after GC).
//   3. document size after 10,000 reorders and 1,000 renames of 20 tabs: tabula's file on disk;
//      the reference keeps no disk state by default, so its encoded document is compared instead.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BENCH_MAX_CONNECTIONS,
  CLIENTS_PER_DOC,
  FANOUT_CLIENTS,
  FANOUT_WARMUP,
  fanoutSetup,
  memoryAfterGc,
  rawClient,
  sleep,
  smallLayoutUpdate,
  startChild,
  synced,
  waitLoaded,
} from './sync-common.mjs'

const QUICK = process.env.SYNC_BENCH_QUICK === '1'
const FANOUT_ROUNDS = QUICK ? 60 : 400
const MEMORY_DOCS = QUICK ? 100 : 1000
const REORDERS = QUICK ? 1000 : 10_000
const RENAMES = QUICK ? 100 : 1000
const TABS = 20
const TOKEN = 'b'.repeat(64)

if (process.argv[2] === '--child') await child(process.argv[3])
else await main()

// ---------------------------------------------------------------- server processes

async function child(kind) {
  const require = createRequire(import.meta.url)
  let stats
  let docSize
  let flush = async () => {}
  let close = async () => {}
  let port
  if (kind === 'tabula') {
    const { createSyncServer } = await import('@tabula/sync-server')
    const { startHost, createLogger } = await import('@tabula/server-kit')
    const Y = await import('yjs')
    const home = mkdtempSync(join(tmpdir(), 'tabula-sync-bench-'))
    const log = createLogger('bench', 'warn')
    const sync = await createSyncServer({ home, log })
    const host = await startHost({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      components: [sync],
      log,
      maxConnections: BENCH_MAX_CONNECTIONS,
    })
    port = host.port
    stats = () => sync.stats().loadedDocs
    flush = () => sync.flush()
    docSize = (room) => {
      const file = join(home, 'layouts', `${room}.json`)
      const record = JSON.parse(readFileSync(file, 'utf8'))
      const v2 = Buffer.from(record.state, 'base64')
      const doc = new Y.Doc()
      Y.applyUpdateV2(doc, v2)
      return { file: statSync(file).size, v2: v2.length, v1: Y.encodeStateAsUpdate(doc).length }
    }
    close = async () => {
      await host.close()
      rmSync(home, { recursive: true, force: true })
    }
  } else {
    const { WebSocketServer } = await import('ws')
    const utils = require('y-websocket-v1/bin/utils')
    const Y = require('yjs')
    const server = createServer()
    const wss = new WebSocketServer({ server })
    wss.on('connection', (conn, req) => utils.setupWSConnection(conn, req))
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    port = server.address().port
    stats = () => utils.docs.size
    docSize = (room) => {
      const doc = utils.docs.get(room)
      return { file: null, v2: Y.encodeStateAsUpdateV2(doc).length, v1: Y.encodeStateAsUpdate(doc).length }
    }
    close = async () => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise((r) => server.close(r))
    }
  }
  process.on('message', async (msg) => {
    if (msg.cmd === 'mem') {
      process.send({ id: msg.id, ...memoryAfterGc() })
    } else if (msg.cmd === 'docs') {
      process.send({ id: msg.id, docs: stats() })
    } else if (msg.cmd === 'size') {
      await flush()
      process.send({ id: msg.id, ...docSize(msg.room) })
    } else if (msg.cmd === 'close') {
      await close()
      process.send({ id: msg.id })
      process.exit(0)
    }
  })
  process.send({ ready: true, port })
}

// ---------------------------------------------------------------- clients

async function main() {
  const Y = await import('yjs')
  const { WebsocketProvider } = await import('y-websocket')
  const WebSocket = (await import('ws')).default
  const layout = await import('@tabula/protocol')
  const results = {}

  process.setMaxListeners(100) // y-websocket adds an exit listener per provider
  const kinds = ['tabula', 'reference']
  const setups = {}
  for (const kind of kinds) {
    const server = startChild(fileURLToPath(import.meta.url), [kind])
    const port = await server.ready
    const base = `ws://127.0.0.1:${port}`
    const serverUrl = kind === 'tabula' ? `${base}/sync` : base
    const protocols = kind === 'tabula' ? layout.wsProtocols(TOKEN) : []
    const provider = (room, doc = new Y.Doc()) =>
      new WebsocketProvider(serverUrl, room, doc, { protocols, WebSocketPolyfill: WebSocket, disableBc: true })
    setups[kind] = { server, serverUrl, protocols, provider }
    results[kind] = {}
  }

  // Fan-out rounds alternate between the servers, so JIT warm-up and machine noise in this
  // (client) process fall on both alike.
  const rounds = {}
  for (const kind of kinds) rounds[kind] = await fanoutSetup((_, room) => setups[kind].provider(room))
  for (let i = 0; i < FANOUT_WARMUP + FANOUT_ROUNDS; i++) {
    for (const kind of kinds) await rounds[kind].round(i, i >= FANOUT_WARMUP)
  }
  for (const kind of kinds) {
    results[kind].fanout = rounds[kind].finish()
    console.log(`${kind}: fan-out p50 ${results[kind].fanout.p50.toFixed(2)} ms, p99 ${results[kind].fanout.p99.toFixed(2)} ms`)
  }
  for (const kind of kinds) {
    results[kind].size = await docSize(setups[kind].provider, setups[kind].server)
    console.log(`${kind}: size ${JSON.stringify(results[kind].size)}`)
  }
  // Memory last and one server at a time: each is alone in its process, the other idle.
  for (const kind of kinds) {
    const { serverUrl, protocols, server } = setups[kind]
    results[kind].memory = await memory(serverUrl, protocols, server)
    console.log(
      `${kind}: memory rss ${mb(results[kind].memory.rss)}, heap ${mb(results[kind].memory.heapUsed)} (${results[kind].memory.docs} docs loaded)`,
    )
  }
  for (const kind of kinds) await setups[kind].server.ask('close')
  printTable(results)
  // The stock providers leave timers behind after destroy(); the run is over, so end it.
  process.exit(0)

  // -- 2. memory ----------------------------------------------------------------------------
  async function memory(serverUrl, protocols, server) {
    const before = await server.ask('mem')
    const seedUpdate = smallLayoutUpdate()
    const sockets = []
    const rooms = Array.from({ length: MEMORY_DOCS }, () => crypto.randomUUID())
    const BATCH = 50
    for (let i = 0; i < rooms.length; i += BATCH) {
      await Promise.all(
        rooms
          .slice(i, i + BATCH)
          .flatMap((room) =>
            Array.from({ length: CLIENTS_PER_DOC }, (_, c) =>
              rawClient(`${serverUrl}/${room}`, protocols, c === 0 ? seedUpdate : null, sockets),
            ),
          ),
      )
    }
    const loaded = await waitLoaded(async () => (await server.ask('docs')).docs, MEMORY_DOCS)
    await sleep(1500) // let the tabula server write its batch, so the figure is its steady state
    const after = await server.ask('mem')
    for (const ws of sockets) ws.terminate()
    return {
      docs: loaded,
      rss: after.rss,
      heapUsed: after.heapUsed,
      rssDelta: after.rss - before.rss,
      heapDelta: after.heapUsed - before.heapUsed,
    }
  }

  // -- 3. document size ---------------------------------------------------------------------
  async function docSize(provider, server) {
    const room = crypto.randomUUID()
    const writer = provider(room)
    await synced(writer)
    const doc = writer.doc
    let log = 0
    doc.on('update', (u) => (log += u.length))
    layout.initLayout(doc)
    const keys = []
    for (let i = 0; i < TABS; i++) {
      const key = layout.newTabKey()
      layout.placeTab(doc, key, layout.DEFAULT_GROUP, keys[keys.length - 1] ?? null, null)
      keys.push(key)
    }
    let seed = 42
    const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const perRename = Math.floor(REORDERS / RENAMES)
    for (let i = 0; i < REORDERS; i++) {
      const order = layout
        .readLayout(doc)
        .tabsByGroup.get(layout.DEFAULT_GROUP)
        .map((t) => t.key)
      const key = order[rand(order.length)]
      const rest = order.filter((k) => k !== key)
      const at = rand(rest.length + 1)
      layout.placeTab(doc, key, layout.DEFAULT_GROUP, rest[at - 1] ?? null, rest[at] ?? null)
      if (i % perRename === 0) layout.setTitle(doc, keys[rand(keys.length)], `renamed ${i}`)
      if (i % 500 === 0) await sleep(0) // let the socket drain
    }
    // Everything the writer made has reached the server when a fresh viewer sees the same state.
    const target = Buffer.from(Y.encodeStateVector(doc)).toString('hex')
    for (;;) {
      const witness = provider(room)
      await synced(witness)
      const seen = Buffer.from(Y.encodeStateVector(witness.doc)).toString('hex')
      witness.destroy()
      if (seen === target) break
      await sleep(100)
    }
    writer.destroy()
    const sizes = await server.ask('size', { room })
    return { file: sizes.file, v1: sizes.v1, v2: sizes.v2, updateLog: log }
  }
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function kb(bytes) {
  return bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(1)} KiB`
}

function printTable({ tabula: t, reference: r }) {
  const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}x` : 'n/a')
  const rows = [
    ['fan-out to 20 clients, p50', `${t.fanout.p50.toFixed(2)} ms`, `${r.fanout.p50.toFixed(2)} ms`, ratio(t.fanout.p50, r.fanout.p50)],
    ['fan-out to 20 clients, p99', `${t.fanout.p99.toFixed(2)} ms`, `${r.fanout.p99.toFixed(2)} ms`, ratio(t.fanout.p99, r.fanout.p99)],
    [`server RSS, ${MEMORY_DOCS} docs x ${CLIENTS_PER_DOC} clients`, mb(t.memory.rss), mb(r.memory.rss), ratio(t.memory.rss, r.memory.rss)],
    [`server heap used, same`, mb(t.memory.heapUsed), mb(r.memory.heapUsed), ratio(t.memory.heapUsed, r.memory.heapUsed)],
    [`RSS growth for the load`, mb(t.memory.rssDelta), mb(r.memory.rssDelta), ratio(t.memory.rssDelta, r.memory.rssDelta)],
    [`doc after ${REORDERS} reorders + ${RENAMES} renames: on disk`, kb(t.size.file), 'no disk state', 'n/a'],
    [
      `  same doc, encoded (v2 / v1)`,
      `${kb(t.size.v2)} / ${kb(t.size.v1)}`,
      `${kb(r.size.v2)} / ${kb(r.size.v1)}`,
      ratio(t.size.v1, r.size.v1),
    ],
    [`  the edits as an update log (context)`, kb(t.size.updateLog), kb(r.size.updateLog), ''],
  ]
  const head = ['measure', 'tabula', 'y-websocket 1.5.4', 'tabula / reference']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  console.log('\n' + line(head))
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
  for (const row of rows) console.log(line(row))
  console.log(`\n(${FANOUT_ROUNDS} rounds x ${FANOUT_CLIENTS} receivers per server; node ${process.version}${QUICK ? '; QUICK mode' : ''})`)
}
