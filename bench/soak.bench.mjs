// A hostile session beside ordinary ones, side by side with the same work without it.
//
// The hostile session prints, in a loop that never ends while the run lasts: control sequences
// with huge counts (CSI 2147483647 S T L M Z I b and friends), 1 MB window titles, random escape-
// sequence fuzz; and it never reads its input, while a viewer keeps sending it 256 KB input
// frames. Beside it, 8 ordinary sessions each flood SOAK_MB of text lines to their own viewer
// at once, and a probe attaches to an idle ordinary session (1,000 lines of scrollback) over and
// over. The same ordinary work runs without the hostile session, in the same daemon, rounds
// interleaved (BENCH_ROUNDS, default 28: about three minutes; the order alternates). Reported: the ordinary sessions'
// throughput (median per-session rate, and the slowest) and attach time (median), with and
// without, and their ratios; the daemon's peak RSS over the whole run, broken down at the peak
// by thread (each thread's V8 heap and array buffers, reported by bench/soak-memory.mjs, loaded
// into every thread of the daemon); the daemon's CPU time by thread; the load average.
// The hostile viewer sends its frames only while its socket buffers less than 1 MiB, as a client
// meeting TCP's backpressure does; the round lines say how many were due, sent and refused.
// SOAK_HOSTILE=output or =input runs only that half of the hostile session (attribution);
// SOAK_CLI=<another tree>/cli/bin/tabula.js runs another build in the same conditions.
//
// Runs the BUILT daemon through the real CLI and speaks the wire protocol with `ws`.
// `SOAK_MB=4 BENCH_ROUNDS=1 node bench/soak.bench.mjs` for a quick look.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { rssOf, threadCpu } from './proc.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The CLI to run (SOAK_CLI: another tree's build, for a comparison in the same conditions). */
const TABULA = process.env.SOAK_CLI ?? join(ROOT, 'cli/bin/tabula.js')
const WORK = join(tmpdir(), 'tabula-bench')
const SOAK_MB = Number(process.env.SOAK_MB ?? 16)
const ORDINARY = 8
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 28)))
/**
 * The bound this benchmark holds the daemon to, over the whole run: what the daemon may hold here
 * by its own limits (docs/performance.md, "A hostile session"): the idle daemon with its workers
 * (~120 MiB), 9 sessions' unparsed output (FLOW_HIGH_WATERMARK, 4 MiB) and replay logs (1 MiB),
 * 10 viewers' queues (MAX_VIEWER_QUEUED_BYTES, 16 MiB), and the workers' garbage (~140 MiB each).
 */
const RSS_BOUND_MB = 600
const DONE = '__SOAK_DONE__'
/** The hostile viewer sends while its socket buffers less than this (its own TCP backpressure). */
const HOSTILE_CLIENT_BUFFER_BYTES = 1024 * 1024
/** What the hostile session does (a diagnostic knob): its `output`, its unread `input`, or both (the default). */
const HOSTILE_PARTS = (process.env.SOAK_HOSTILE ?? 'output,input').split(',')
/** SOAK_VERBOSE=1 prints every ordinary session's rate, in spawn order (which worker it shares). */
const VERBOSE = process.env.SOAK_VERBOSE === '1'
const COLS = 120
const ROWS = 40
mkdirSync(WORK, { recursive: true })
/** Where each thread of the daemon reports its heap (bench/soak-memory.mjs), for the RSS breakdown at the peak. */
const MEMORY_DIR = mkdtempSync(join(tmpdir(), 'tabula-soak-memory-'))
const MEMORY_PRELOAD = new URL('./soak-memory.mjs', import.meta.url).href

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** CPU seconds per thread of `pid` (main, screen workers, GC helpers, libuv), those of 0.1 s or more. */
function threadCpuByName(pid) {
  const out = {}
  for (const t of threadCpu(pid)) if (t.seconds >= 0.1) out[t.tid === pid ? 'main' : `${t.name}#${t.tid}`] = t.seconds
  return out
}

// ── files ────────────────────────────────────────────────────────────────────────────────────

function textFile(megabytes) {
  const path = join(WORK, `soak-text-${megabytes}mb.txt`)
  const target = megabytes * 1024 * 1024
  if (existsSync(path) && statSync(path).size === target) return path
  const lines = []
  let size = 0
  for (let i = 0; size < target; i++) {
    const line = `${String(i).padStart(9, '0')} ordinary build output, nothing to see here, moving along briskly\n`
    lines.push(line)
    size += line.length
  }
  writeFileSync(path, lines.join('').slice(0, target))
  return path
}

function scrollbackFile() {
  const path = join(WORK, 'soak-scrollback.txt')
  if (!existsSync(path))
    writeFileSync(path, Array.from({ length: 1000 }, (_, i) => `\x1b[3${i % 8}mline ${i}\x1b[0m of the scrollback\n`).join(''))
  return path
}

/** One pass of the hostile program's output (~4 MB): huge counts, giant titles, fuzz. */
function hostileFile() {
  const path = join(WORK, 'soak-hostile.bin')
  if (existsSync(path)) return path
  let seed = 42
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
  const parts = []
  const huge = ['S', 'T', 'L', 'M', 'Z', 'I', '@', 'P', 'X', ' @', ' A', "'}", "'~"]
  for (let i = 0; i < 2000; i++) parts.push(`x\x1b[2147483647${huge[i % huge.length]}\x1b[2147483647b\xc2\x9b99999999S`)
  parts.push(`\x1b]0;${'T'.repeat(1024 * 1024)}\x07`, `\x1b]2;${'t'.repeat(1024 * 1024)}\x1b\\`)
  const fuzz = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < fuzz.length; i++) {
    const r = rand()
    fuzz[i] = r < 0.1 ? 0x1b : r < 0.2 ? 0x5b : r < 0.5 ? 0x30 + Math.floor(rand() * 10) : r < 0.55 ? 0x3b : Math.floor(rand() * 256)
  }
  writeFileSync(path, Buffer.concat([Buffer.from(parts.join(''), 'latin1'), fuzz, Buffer.from('\x1bc\x18\x1b[0m\r\n')]))
  return path
}

// ── the daemon and viewers ───────────────────────────────────────────────────────────────────

async function startDaemon() {
  const home = mkdtempSync(join(tmpdir(), 'tabula-soak-home-'))
  // SOAK_NODE_ARGS (diagnosis): node flags for the daemon, e.g. `--cpu-prof --cpu-prof-dir=DIR`.
  const nodeArgs = process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const proc = spawn(process.execPath, [...nodeArgs, TABULA, 'daemon', '--port', '0', '--home', home, '--no-restore'], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'error', SOAK_MEMORY_DIR: MEMORY_DIR, NODE_OPTIONS: `--import=${MEMORY_PRELOAD}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (let i = 0; i < 400; i++) {
    try {
      const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
      if (runtime.pid === proc.pid) {
        const token = readFileSync(join(home, 'token'), 'utf8').trim()
        const url = runtime.daemonUrl
        const api = (path, body, method = body ? 'POST' : 'GET') =>
          fetch(url + path, {
            method,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: body && JSON.stringify(body),
          }).then((r) => r.json())
        const workspace = (await api('/v1/workspaces', { path: home })).id
        return {
          proc,
          url,
          token,
          spawn: async (body) => (await api(`/v1/workspaces/${workspace}/sessions`, { cols: COLS, rows: ROWS, ...body })).session,
          close: (key) => api(`/v1/workspaces/${workspace}/sessions/${key}`, undefined, 'DELETE'),
          async stop() {
            proc.kill('SIGTERM')
            await new Promise((r) => proc.once('exit', r))
            rmSync(home, { recursive: true, force: true })
          },
        }
      }
    } catch {}
    await sleep(25)
  }
  throw new Error('the daemon did not start')
}

async function openViewer(daemon) {
  const socket = new WebSocket(daemon.url.replace(/^http/, 'ws') + '/v1/live', ['tabula.v1', 'bearer.' + daemon.token], {
    perMessageDeflate: false,
  })
  const v = {
    socket,
    frames: [],
    waiters: [],
    tail: '',
    doneAt: 0,
    onDone: null,
    received: 0,
    refused: 0,
    send: (frame) => socket.readyState === 1 && socket.send(JSON.stringify(frame)),
    next(match) {
      const found = v.frames.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => v.waiters.push({ match, resolve }))
    },
    close: () => socket.terminate(),
  }
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      v.received += data.length
      if (!v.doneAt) {
        const text = v.tail + data.toString('latin1', Math.max(5, data.length - 64))
        if (text.includes(DONE)) {
          v.doneAt = performance.now()
          v.onDone?.()
        }
        v.tail = text.slice(-32)
      }
      return
    }
    const frame = JSON.parse(data.toString())
    if (frame.type === 'error') v.refused += frame.code === 'input_queue_full' ? 1 : 0
    if (frame.type === 'attached' || frame.type === 'resync') frame.snapshot = frame.snapshot.length // keep memory flat
    v.frames.push(frame)
    if (v.frames.length > 1000) v.frames.splice(0, 500)
    v.waiters = v.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true))
  })
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  await v.next((f) => f.type === 'welcome')
  return v
}

// ── one run of the ordinary work ─────────────────────────────────────────────────────────────

async function ordinaryRun(daemon, idleKey, text) {
  const bytes = statSync(text).size
  const sessions = []
  for (let i = 0; i < ORDINARY; i++) {
    const s = await daemon.spawn({ command: 'sh', args: ['-c', `stty -echo; read go; cat ${text}; echo ${DONE}; exec cat`] })
    const v = await openViewer(daemon)
    v.send({ type: 'attach', ch: 1, key: s.key })
    await v.next((f) => f.type === 'attached')
    sessions.push({ s, v })
  }
  const start = performance.now()
  const done = Promise.all(sessions.map(({ v }) => new Promise((r) => (v.onDone = r))))
  for (const { v } of sessions) v.send({ type: 'input', ch: 1, data: 'go\r' })
  // Attach to the idle session over and over while the floods run.
  const attaches = []
  const probe = await openViewer(daemon)
  let floods = true
  void done.then(() => (floods = false))
  for (let ch = 1; floods || attaches.length < 5; ch++) {
    const t0 = performance.now()
    probe.send({ type: 'attach', ch, key: idleKey })
    await probe.next((f) => f.type === 'attached' && f.ch === ch)
    attaches.push(performance.now() - t0)
    probe.send({ type: 'detach', ch })
    await sleep(50)
  }
  await done
  probe.close()
  const rates = sessions.map(({ v }) => bytes / ((v.doneAt - start) / 1000) / 2 ** 20)
  for (const { s, v } of sessions) {
    v.close()
    await daemon.close(s.key)
  }
  return { rates, medianRate: median(rates), minRate: Math.min(...rates), attachMs: median(attaches), attaches: attaches.length }
}

/** The hostile session and its input flood; stop() ends both. */
async function startHostile(daemon, file) {
  const s = await daemon.spawn({
    command: 'sh',
    args: ['-c', HOSTILE_PARTS.includes('output') ? `while :; do cat ${file}; done` : 'exec sleep 1000'],
  })
  const v = await openViewer(daemon)
  v.send({ type: 'attach', ch: 1, key: s.key })
  await v.next((f) => f.type === 'attached')
  let running = true
  let refused = 0
  let offered = 0
  let sent = 0
  const since = performance.now()
  const input = 'y'.repeat(256 * 1024)
  void (async () => {
    while (running && HOSTILE_PARTS.includes('input')) {
      // A frame every 20 ms, whenever the socket takes it: a client meets TCP's backpressure when
      // the daemon stops reading (as any client's socket does) instead of queuing in itself.
      offered++
      if (v.socket.bufferedAmount < HOSTILE_CLIENT_BUFFER_BYTES) {
        v.send({ type: 'input', ch: 1, data: input })
        sent++
      }
      refused = v.refused
      await sleep(20)
    }
  })()
  return {
    async stop() {
      running = false
      v.close()
      await daemon.close(s.key)
      return { inputRefusals: refused, offered, sent, outputMiBps: v.received / 2 ** 20 / ((performance.now() - since) / 1000) }
    },
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────

const text = textFile(SOAK_MB)
const hostile = hostileFile()
const daemon = await startDaemon()
let peak = 0
let atPeak = []
const sampler = setInterval(() => {
  const rss = rssOf(daemon.proc.pid)
  if (rss <= peak) return
  peak = rss
  atPeak = readdirSync(MEMORY_DIR).flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(join(MEMORY_DIR, f), 'utf8'))]
    } catch {
      return []
    }
  })
}, 100)
const idle = await daemon.spawn({ command: 'sh', args: ['-c', `cat ${scrollbackFile()}; exec cat`] })
await sleep(500)
const results = { without: [], with: [] }
let refusals = 0
const started = performance.now()
for (let round = 0; round < ROUNDS; round++) {
  for (const hostileOn of round % 2 === 0 ? [false, true] : [true, false]) {
    const h = hostileOn ? await startHostile(daemon, hostile) : null
    if (h) await sleep(1000) // let it get going
    const r = await ordinaryRun(daemon, idle.key, text)
    let hostileRate = ''
    if (h) {
      const end = await h.stop()
      refusals += end.inputRefusals
      hostileRate = `; the hostile session printed ${end.outputMiBps.toFixed(1)} MiB/s to its viewer, its input frames: ${end.offered} due, ${end.sent} sent, ${end.inputRefusals} refused`
    }
    results[hostileOn ? 'with' : 'without'].push(r)
    console.log(
      `round ${round + 1} ${hostileOn ? 'with   ' : 'without'} hostile: ordinary ${r.medianRate.toFixed(1)} MiB/s median per session ` +
        `(slowest ${r.minRate.toFixed(1)}), attach ${r.attachMs.toFixed(0)} ms median of ${r.attaches}${hostileRate}` +
        (VERBOSE ? `\n  per session, in spawn order: ${r.rates.map((x) => x.toFixed(1)).join(' ')}` : ''),
    )
  }
}
clearInterval(sampler)
peak = Math.max(peak, rssOf(daemon.proc.pid))
const cpu = threadCpuByName(daemon.proc.pid)
await daemon.stop()

const summary = (rows) => ({
  rate: median(rows.map((r) => r.medianRate)),
  min: median(rows.map((r) => r.minRate)),
  attach: median(rows.map((r) => r.attachMs)),
})
const a = summary(results.without)
const b = summary(results.with)
console.log(
  `\n${ORDINARY} ordinary sessions, each cat of ${SOAK_MB} MiB, ${ROUNDS} rounds, ${((performance.now() - started) / 1000).toFixed(0)} s`,
)
console.log(`| | without hostile | with hostile | ratio (with / without) |`)
console.log(`|---|---|---|---|`)
console.log(
  `| throughput per ordinary session, median | ${a.rate.toFixed(1)} MiB/s | ${b.rate.toFixed(1)} MiB/s | ${(b.rate / a.rate).toFixed(2)}× |`,
)
console.log(
  `| throughput, slowest ordinary session | ${a.min.toFixed(1)} MiB/s | ${b.min.toFixed(1)} MiB/s | ${(b.min / a.min).toFixed(2)}× |`,
)
console.log(
  `| attach to an idle session (1,000 lines), median | ${a.attach.toFixed(0)} ms | ${b.attach.toFixed(0)} ms | speed ${(a.attach / b.attach).toFixed(2)}× |`,
)
console.log(
  `daemon peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (bound ${RSS_BOUND_MB} MiB); hostile input refused ${refusals} times (input_queue_full)`,
)
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)}`
console.log(
  `at the peak: ` +
    atPeak
      .sort((x, y) => (x.thread === 'main' ? -1 : y.thread === 'main' ? 1 : x.thread.localeCompare(y.thread)))
      .map(
        (t) => `${t.thread} heap ${mib(t.heapUsed)} used / ${mib(t.heapCommitted)} committed MiB, array buffers ${mib(t.arrayBuffers)} MiB`,
      )
      .join('; '),
)
rmSync(MEMORY_DIR, { recursive: true, force: true })
console.log(
  `daemon CPU by thread: ${Object.entries(cpu)
    .sort((x, y) => y[1] - x[1])
    .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
    .join(', ')}; ` +
    `this benchmark's own process ${(process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6).toFixed(1)} s; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
)
if (peak > RSS_BOUND_MB * 2 ** 20) {
  console.log('FAIL: the daemon went over its RSS bound')
  process.exitCode = 1
}
