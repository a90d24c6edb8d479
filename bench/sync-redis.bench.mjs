// Sync server on Redis against the sync server alone, same machine, same load, one run (the
// approach of sync.bench.mjs): 1 instance without Redis, 1 instance with Redis, 3 instances on
// one Redis (and, to show what the fsync costs, 3 on a Redis with appendfsync everysec). Every instance runs in its own child process (this file, with --child), so its
// memory is its own; Redis is Debian's redis-server, started here on a free loopback port with
// the append-only file on and `appendfsync always` (docs/sync.md, "Configuring Redis").
//
//   node --expose-gc bench/sync-redis.bench.mjs      (or: npm run bench -- sync-redis)
//   SYNC_BENCH_QUICK=1 ...                           fewer rounds/docs, for development
//
// Measures:
//   1. update fan-out latency to 20 clients (p50, p99): one writer, 20 stock WebsocketProviders
//      (spread round robin over the instances, the writer on the first); time from the writer's
//      edit to each receiver's doc update.
//   2. memory per document: 1,000 workspace documents with 2 clients each, the clients spread
//      round robin over the instances; each instance's RSS and heap growth after GC, per document
//      it serves, and Redis's own used_memory growth per document.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
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
  waitLoaded,
} from './sync-common.mjs'

const QUICK = process.env.SYNC_BENCH_QUICK === '1'
const FANOUT_ROUNDS = QUICK ? 60 : 400
const MEMORY_DOCS = QUICK ? 100 : 1000
const TOKEN = 'b'.repeat(64)

if (process.argv[2] === '--child') await child(process.argv[3])
else await main()

// ---------------------------------------------------------------- server processes

async function child(redisUrl) {
  const { createSyncServer, createRedisRooms } = await import('@tabula/sync-server')
  const { startHost, createLogger } = await import('@tabula/server-kit')
  const home = mkdtempSync(join(tmpdir(), 'tabula-sync-redis-bench-'))
  const log = createLogger('bench', 'warn')
  const rooms = redisUrl === 'none' ? undefined : await createRedisRooms(redisUrl, log)
  const sync = await createSyncServer({ home, log, rooms })
  const host = await startHost({ host: '127.0.0.1', port: 0, token: TOKEN, components: [sync], log, maxConnections: BENCH_MAX_CONNECTIONS })
  process.on('message', async (msg) => {
    if (msg.cmd === 'mem') {
      process.send({ id: msg.id, ...memoryAfterGc() })
    } else if (msg.cmd === 'docs') {
      process.send({ id: msg.id, docs: sync.stats().loadedDocs })
    } else if (msg.cmd === 'close') {
      await host.close()
      rmSync(home, { recursive: true, force: true })
      process.send({ id: msg.id })
      process.exit(0)
    }
  })
  process.send({ ready: true, port: host.port })
}

// ---------------------------------------------------------------- redis

function freePort() {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startRedis(appendfsync) {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-bench-redis-'))
  const port = await freePort()
  const proc = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', ''],
    {
      stdio: 'ignore',
    },
  )
  for (let i = 0; i < 200; i++) {
    if (await ping(port)) break
    await sleep(25)
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async usedMemory() {
      const info = await command(port, 'INFO memory')
      return Number(/used_memory:(\d+)/.exec(info)[1])
    },
    appendfsync,
    stop() {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function command(port, line) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.on('error', reject)
    socket.on('connect', () => socket.write(line + '\r\n'))
    socket.on('data', (d) => {
      reply += d.toString()
      const m = /^\$(\d+)\r\n/.exec(reply)
      if (reply.startsWith('+') || (m && reply.length >= m[0].length + Number(m[1]))) {
        socket.destroy()
        resolve(reply)
      }
    })
  })
}

async function ping(port) {
  try {
    return (await command(port, 'PING')).startsWith('+PONG')
  } catch {
    return false
  }
}

// ---------------------------------------------------------------- clients

async function main() {
  const Y = await import('yjs')
  const { WebsocketProvider } = await import('y-websocket')
  const WebSocket = (await import('ws')).default
  const layout = await import('@tabula/protocol')
  process.setMaxListeners(200) // y-websocket adds an exit listener per provider

  const strict = await startRedis('always')
  const relaxed = await startRedis('everysec')
  const setups = [
    { name: '1 instance, no Redis', instances: 1, redis: null },
    { name: '1 instance on Redis', instances: 1, redis: strict },
    { name: '3 instances on Redis', instances: 3, redis: strict },
    { name: '3 on Redis, everysec', instances: 3, redis: relaxed },
  ]
  for (const setup of setups) {
    setup.servers = Array.from({ length: setup.instances }, () =>
      startChild(fileURLToPath(import.meta.url), [setup.redis ? setup.redis.url : 'none']),
    )
    setup.urls = (await Promise.all(setup.servers.map((s) => s.ready))).map((port) => `ws://127.0.0.1:${port}/sync`)
    setup.provider = (i, room) =>
      new WebsocketProvider(setup.urls[i % setup.urls.length], room, new Y.Doc(), {
        protocols: layout.wsProtocols(TOKEN),
        WebSocketPolyfill: WebSocket,
        disableBc: true,
      })
  }

  // Fan-out rounds alternate between the setups, so JIT warm-up and machine noise in this
  // (client) process fall on all alike.
  for (const setup of setups) setup.fanout = await fanoutSetup(setup.provider)
  for (let i = 0; i < FANOUT_WARMUP + FANOUT_ROUNDS; i++) {
    for (const setup of setups) await setup.fanout.round(i, i >= FANOUT_WARMUP)
  }
  for (const setup of setups) {
    setup.latency = setup.fanout.finish()
    console.log(`${setup.name}: fan-out p50 ${setup.latency.p50.toFixed(2)} ms, p99 ${setup.latency.p99.toFixed(2)} ms`)
  }
  // Memory one setup at a time, the others idle (their rooms unloaded or empty).
  for (const setup of setups) {
    setup.memory = await memory(setup)
    console.log(`${setup.name}: ${JSON.stringify(setup.memory)}`)
  }
  for (const setup of setups) for (const s of setup.servers) await s.ask('close')
  strict.stop()
  relaxed.stop()
  printTable(setups)
  // The memory load's raw clients would keep the process alive; everything worth keeping is printed.
  process.exit(0)

  async function memory(setup) {
    const before = await Promise.all(setup.servers.map((s) => s.ask('mem')))
    const redisBefore = await setup.redis?.usedMemory()
    const seedUpdate = smallLayoutUpdate()
    const sockets = []
    const rooms = Array.from({ length: MEMORY_DOCS }, () => crypto.randomUUID())
    const BATCH = 50
    let client = 0
    for (let i = 0; i < rooms.length; i += BATCH) {
      await Promise.all(
        rooms.slice(i, i + BATCH).flatMap((room) =>
          Array.from({ length: CLIENTS_PER_DOC }, (_, c) => {
            const url = setup.urls[client++ % setup.urls.length]
            return rawClient(`${url}/${room}`, layout.wsProtocols(TOKEN), c === 0 ? seedUpdate : null, sockets)
          }),
        ),
      )
    }
    const docsEach = async () => (await Promise.all(setup.servers.map((s) => s.ask('docs')))).map((d) => d.docs)
    // Round robin puts a document's clients on min(clients, instances) instances, each of which opens it.
    await waitLoaded(async () => (await docsEach()).reduce((a, b) => a + b, 0), MEMORY_DOCS * Math.min(CLIENTS_PER_DOC, setup.instances))
    const loaded = await docsEach()
    await sleep(1500) // let writes settle (the file store's batch, Redis appends), so the figure is steady state
    const after = await Promise.all(setup.servers.map((s) => s.ask('mem')))
    const redisAfter = await setup.redis?.usedMemory()
    for (const ws of sockets) ws.terminate()
    const perInstance = after.map((a, i) => ({
      docs: loaded[i],
      rss: a.rss,
      rssPerDoc: (a.rss - before[i].rss) / loaded[i],
      heapPerDoc: (a.heapUsed - before[i].heapUsed) / loaded[i],
    }))
    const mean = (f) => perInstance.reduce((s, p) => s + f(p), 0) / perInstance.length
    return {
      docsPerInstance: loaded,
      rssPerDoc: mean((p) => p.rssPerDoc),
      heapPerDoc: mean((p) => p.heapPerDoc),
      rss: mean((p) => p.rss),
      redisPerDoc: setup.redis ? (redisAfter - redisBefore) / MEMORY_DOCS : null,
    }
  }
}

function kb(bytes) {
  return bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(1)} KiB`
}

function printTable(setups) {
  const [single] = setups
  const ratio = (a, b) => `${(a / b).toFixed(2)}x`
  const head = ['measure', ...setups.map((s) => s.name)]
  const rows = [
    ['fan-out to 20 clients, p50', ...setups.map((s) => `${s.latency.p50.toFixed(2)} ms (${ratio(s.latency.p50, single.latency.p50)})`)],
    ['fan-out to 20 clients, p99', ...setups.map((s) => `${s.latency.p99.toFixed(2)} ms (${ratio(s.latency.p99, single.latency.p99)})`)],
    ['documents served per instance', ...setups.map((s) => s.memory.docsPerInstance.join(' / '))],
    [
      'RSS growth per document, per instance',
      ...setups.map((s) => `${kb(s.memory.rssPerDoc)} (${ratio(s.memory.rssPerDoc, single.memory.rssPerDoc)})`),
    ],
    [
      'heap growth per document, per instance',
      ...setups.map((s) => `${kb(s.memory.heapPerDoc)} (${ratio(s.memory.heapPerDoc, single.memory.heapPerDoc)})`),
    ],
    ['Redis used_memory per document', ...setups.map((s) => kb(s.memory.redisPerDoc))],
  ]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  console.log('\n' + line(head))
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
  for (const row of rows) console.log(line(row))
  console.log(
    `\n(${FANOUT_ROUNDS} rounds x ${FANOUT_CLIENTS} receivers per setup; ${MEMORY_DOCS} docs x ${CLIENTS_PER_DOC} clients; node ${process.version}${QUICK ? '; QUICK mode' : ''})`,
  )
}
