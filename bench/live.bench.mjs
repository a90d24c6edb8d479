// The live channel, measured side by side with tmux and raw node-pty in one run (issue 3):
// flood throughput to 1 viewer, 8 viewers, and 7 viewers + 1 stalled; attach latency for 1,000
// and 10,000 lines of scrollback; keystroke echo round trip; memory per idle session.
//
// Runs the BUILT daemon through the real CLI (`tabula daemon`), and talks the wire protocol with
// `ws`, so what is measured is what a viewer gets. `BENCH_MB=20 node bench/live.bench.mjs` for a
// quick run while developing.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import pty from 'node-pty'
import xtermHeadless from '@xterm/headless'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TABULA = join(ROOT, 'cli/bin/tabula.js')
const FLOOD_MB = Number(process.env.BENCH_MB ?? 100)
const COLS = 200
const ROWS = 50
const DONE = '__BENCH_DONE__'
const WORK = join(tmpdir(), 'tabula-bench')
mkdirSync(WORK, { recursive: true })

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────

/** FLOOD_MB of plain text lines (~100 columns), made once and reused between runs. */
function floodFile() {
  return floodFileOf(FLOOD_MB)
}

function floodFileOf(megabytes) {
  const path = join(WORK, `flood-${megabytes}mb.txt`)
  if (existsSync(path) && statSync(path).size === megabytes * 1024 * 1024) return path
  const line = (i) => `${String(i).padStart(9, '0')} the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs\n`
  const chunks = []
  let size = 0
  for (let i = 0; size < megabytes * 1024 * 1024; i++) {
    const l = line(i)
    chunks.push(l)
    size += l.length
  }
  writeFileSync(path, chunks.join('').slice(0, megabytes * 1024 * 1024))
  return path
}

/** N lines of coloured text, as a busy build log would leave in the scrollback. */
function scrollbackFile(lines) {
  const path = join(WORK, `scrollback-${lines}.txt`)
  if (existsSync(path)) return path
  const out = []
  for (let i = 0; i < lines; i++) out.push(`\x1b[3${i % 8}mline ${i}\x1b[0m compiling module ${i} of ${lines} \x1b[1m[ok]\x1b[0m ${'.'.repeat(i % 40)}\n`)
  writeFileSync(path, out.join(''))
  return path
}

// ── the daemon ───────────────────────────────────────────────────────────────────────────────

async function startDaemon(extra = []) {
  const home = mkdtempSync(join(tmpdir(), 'tabula-bench-home-'))
  const proc = spawn(process.execPath, [TABULA, 'daemon', '--port', '0', '--home', home, '--no-restore', ...extra], {
    env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (let i = 0; ; i++) {
    try {
      const runtime = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8'))
      if (runtime.pid === proc.pid) {
        const token = readFileSync(join(home, 'token'), 'utf8').trim()
        const url = runtime.daemonUrl ?? runtime.url
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
          workspace,
          spawn: async (body) => (await api(`/v1/workspaces/${workspace}/sessions`, { cols: COLS, rows: ROWS, ...body })).session,
          close: (key) => api(`/v1/workspaces/${workspace}/sessions/${key}`, undefined, 'DELETE'),
          rss: () => rssOf(proc.pid),
          async stop() {
            proc.kill('SIGTERM')
            await new Promise((r) => proc.once('exit', r))
            rmSync(home, { recursive: true, force: true })
          },
        }
      }
    } catch {}
    if (i > 400) throw new Error('the daemon did not start')
    await sleep(25)
  }
}

function rssOf(pid) {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return kb ? Number(kb[1]) * 1024 : 0
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A viewer speaking the protocol: counts output bytes per channel, sees the DONE marker. */
async function openViewer(daemon) {
  const socket = new WebSocket(daemon.url.replace(/^http/, 'ws') + '/v1/live', ['tabula.v1', 'bearer.' + daemon.token], {
    perMessageDeflate: false,
  })
  const viewer = {
    socket,
    bytes: 0,
    tail: '',
    doneAt: 0,
    onDone: null,
    frames: [],
    waiters: [],
    onBinary: null,
    send: (frame) => socket.send(JSON.stringify(frame)),
    next(match) {
      const found = viewer.frames.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve) => viewer.waiters.push({ match, resolve }))
    },
    pause: () => socket._socket.pause(),
    close: () => socket.terminate(),
  }
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      viewer.bytes += data.length - 5
      if (viewer.onBinary) return viewer.onBinary(data)
      if (!viewer.doneAt) {
        const text = viewer.tail + data.toString('latin1', Math.max(5, data.length - 64))
        if (text.includes(DONE)) {
          viewer.doneAt = performance.now()
          viewer.onDone?.()
        }
        viewer.tail = text.slice(-32)
      }
      return
    }
    const frame = JSON.parse(data.toString())
    viewer.frames.push(frame)
    viewer.waiters = viewer.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true))
  })
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  await viewer.next((f) => f.type === 'welcome')
  return viewer
}

// ── throughput ───────────────────────────────────────────────────────────────────────────────

/**
 * `cat` of the flood file in one session, to `readers` viewers (+ `stalled` that stop reading).
 * Rates count the file's bytes, as for tmux and raw node-pty: what viewers receive is larger by
 * one CR per line (the terminal's onlcr), which would flatter tabula if counted.
 *
 * Two end points: `seconds` until DONE reached the (slowest) reading viewer, and `screenSeconds`
 * until the daemon's own headless screen had parsed it all: a viewer attached after DONE gets a
 * snapshot cut after everything written before the attach, and the cut waits for the parser, so
 * the snapshot's arrival is when the authoritative screen caught up (plus one serialisation).
 */
async function floodThroughput(daemon, file, readers, stalled = 0) {
  const fileBytes = statSync(file).size
  const session = await daemon.spawn({ command: 'sh', args: ['-c', `stty -echo; read go; cat ${file}; echo ${DONE}; exec cat`] })
  const viewers = []
  for (let i = 0; i < readers + stalled; i++) {
    const v = await openViewer(daemon)
    v.send({ type: 'attach', ch: 1, key: session.key })
    await v.next((f) => f.type === 'attached')
    v.bytes = 0
    viewers.push(v)
  }
  for (const v of viewers.slice(readers)) v.pause()
  const late = await openViewer(daemon)
  late.onBinary = () => {}
  let peak = daemon.rss()
  const sampler = setInterval(() => (peak = Math.max(peak, daemon.rss())), 50)
  const start = performance.now()
  const done = Promise.all(viewers.slice(0, readers).map((v) => new Promise((r) => (v.onDone = r))))
  viewers[0].send({ type: 'input', ch: 1, data: 'go\r' })
  await done
  let snapshot
  do {
    late.frames.length = 0
    late.send({ type: 'attach', ch: 2, key: session.key })
    snapshot = await late.next((f) => f.type === 'attached')
    if (!snapshot.snapshot.includes(DONE)) {
      late.send({ type: 'detach', ch: 2 })
      await late.next((f) => f.type === 'detached')
    }
  } while (!snapshot.snapshot.includes(DONE))
  const screenSeconds = (performance.now() - start) / 1000
  late.close()
  clearInterval(sampler)
  peak = Math.max(peak, daemon.rss())
  const rates = viewers.slice(0, readers).map((v) => fileBytes / ((v.doneAt - start) / 1000))
  const delivered = viewers[0].bytes
  for (const v of viewers) v.close()
  await daemon.close(session.key)
  const seconds = (Math.max(...viewers.slice(0, readers).map((v) => v.doneAt)) - start) / 1000
  return { seconds, screenSeconds, bytes: fileBytes, delivered, minRate: Math.min(...rates), peak }
}

/** tmux ingesting the same file: a detached session runs `cat`, then signals; timed end to end. */
function tmuxThroughput(file) {
  const socketName = `tabula-bench-${process.pid}`
  const conf = join(WORK, 'tmux.conf')
  writeFileSync(conf, 'set -g history-limit 5000\nset -g status off\n')
  const start = performance.now()
  const created = spawnSync('tmux', ['-L', socketName, '-f', conf, 'new-session', '-d', '-x', String(COLS), '-y', String(ROWS), `cat ${file}; tmux -L ${socketName} wait-for -S done`])
  if (created.status !== 0) throw new Error('tmux failed: ' + created.stderr)
  spawnSync('tmux', ['-L', socketName, 'wait-for', 'done'])
  const seconds = (performance.now() - start) / 1000
  spawnSync('tmux', ['-L', socketName, 'kill-server'])
  return { seconds, bytes: statSync(file).size }
}

/** node-pty alone reading the same `cat`: the ceiling for anything built on it. */
function rawPtyThroughput(file) {
  return new Promise((resolve) => {
    let bytes = 0
    const start = performance.now()
    const p = pty.spawn('cat', [file], { cols: COLS, rows: ROWS, name: 'xterm-256color' })
    p.onData((d) => (bytes += Buffer.byteLength(d)))
    // Rated on the file's size like the others (`bytes` read includes the CRs onlcr added).
    p.onExit(() => resolve({ seconds: (performance.now() - start) / 1000, bytes: statSync(file).size, delivered: bytes }))
  })
}

// ── attach latency, echo, memory ─────────────────────────────────────────────────────────────

async function attachLatency(daemon, lines, runs = 5) {
  const file = scrollbackFile(lines)
  const session = await daemon.spawn({ command: 'sh', args: ['-c', `cat ${file}; echo ${DONE}; exec cat`] })
  // Wait until the whole file is in the daemon's screen: the marker shows in a snapshot.
  for (;;) {
    const probe = await openViewer(daemon)
    probe.send({ type: 'attach', ch: 1, key: session.key })
    const attached = await probe.next((f) => f.type === 'attached')
    probe.close()
    if (attached.snapshot.includes(DONE)) break
    await sleep(100)
  }
  const times = []
  let snapshotBytes = 0
  for (let i = 0; i < runs; i++) {
    const v = await openViewer(daemon)
    const term = new xtermHeadless.Terminal({ cols: COLS, rows: ROWS, scrollback: lines + 100, allowProposedApi: true })
    const start = performance.now()
    v.send({ type: 'attach', ch: 1, key: session.key })
    const attached = await v.next((f) => f.type === 'attached')
    snapshotBytes = Buffer.byteLength(attached.snapshot)
    term.write('\x1bc' + attached.snapshot)
    await new Promise((r) => term.write('', r))
    times.push(performance.now() - start)
    const inScrollback = term.buffer.active.length
    if (inScrollback < Math.min(lines, 5000)) throw new Error(`snapshot held only ${inScrollback} lines`)
    term.dispose()
    v.close()
  }
  await daemon.close(session.key)
  return { median: percentile(times, 50), snapshotBytes }
}

// 300 keystrokes on one line: well under the tty's 4,095-byte line limit.
async function echoRoundTrip(daemon, count = 300) {
  const session = await daemon.spawn({ command: 'cat' })
  const v = await openViewer(daemon)
  v.send({ type: 'attach', ch: 1, key: session.key })
  await v.next((f) => f.type === 'attached')
  const times = []
  let echoed = 0
  let waiting = null
  v.onBinary = (data) => {
    echoed += data.length - 5
    if (waiting && echoed >= waiting.bytes) waiting.resolve()
  }
  for (let i = 0; i < count; i++) {
    // Each keystroke is echoed by the tty as one byte; wait for exactly that byte to come back.
    const got = new Promise((resolve) => (waiting = { bytes: i + 1, resolve }))
    const start = performance.now()
    v.send({ type: 'input', ch: 1, data: 'x' })
    await got
    times.push(performance.now() - start)
  }
  v.close()
  await daemon.close(session.key)
  return { p50: percentile(times, 50), p99: percentile(times, 99) }
}

async function rawEchoRoundTrip(count = 300) {
  const p = pty.spawn('cat', [], { cols: COLS, rows: ROWS })
  const times = []
  let resolve
  p.onData(() => resolve?.())
  await sleep(100)
  for (let i = 0; i < count; i++) {
    const got = new Promise((r) => (resolve = r))
    const start = performance.now()
    p.write('x')
    await got
    times.push(performance.now() - start)
  }
  p.kill()
  return { p50: percentile(times, 50), p99: percentile(times, 99) }
}

async function memoryPerSession(daemon, count, fill) {
  const file = fill ? scrollbackFile(fill) : null
  const before = daemon.rss()
  const keys = []
  for (let i = 0; i < count; i++) {
    const args = file ? ['-c', `cat ${file}; exec cat`] : ['-c', 'exec cat']
    keys.push((await daemon.spawn({ command: 'sh', args })).key)
  }
  // Idle: give the mirrors time to parse what the sessions printed, then let the heap settle.
  await sleep(file ? 3000 : 1000)
  const after = daemon.rss()
  for (const key of keys) await daemon.close(key)
  return (after - before) / count
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────

const mb = (bytes) => bytes / (1024 * 1024)
const fmt = (n, digits = 1) => n.toFixed(digits)

const file = floodFile()
console.log(`flood: cat of ${FLOOD_MB} MB of text (${COLS}x${ROWS}), node ${process.version}`)

const daemon = await startDaemon()
// A daemon runs for days: measure it warm. One short flood lets V8 optimise the parser first.
await floodThroughput(daemon, floodFileOf(Math.min(FLOOD_MB, 10)), 1)
const tmux = tmuxThroughput(file)
const raw = await rawPtyThroughput(file)
const one = await floodThroughput(daemon, file, 1)
const eight = await floodThroughput(daemon, file, 8)
const sevenStalled = await floodThroughput(daemon, file, 7, 1)
const echo = await echoRoundTrip(daemon)
const rawEcho = await rawEchoRoundTrip()
const idle = await memoryPerSession(daemon, 20, 0)
const full = await memoryPerSession(daemon, 10, 5000)
await daemon.stop()

const big = await startDaemon(['--scrollback', '10000'])
const attach1k = await attachLatency(big, 1000)
const attach10k = await attachLatency(big, 10000)
await big.stop()

const tmuxRate = mb(tmux.bytes) / tmux.seconds
const rawRate = mb(raw.bytes) / raw.seconds
const row = (name, r) => [name, `${fmt(r.seconds, 2)} s`, `${fmt(mb(r.bytes) / r.seconds)} MB/s`, `${fmt(mb(r.bytes) / r.seconds / tmuxRate, 2)}x`, `${fmt(mb(r.bytes) / r.seconds / rawRate, 2)}x`]
const table = [
  ['throughput (cat of ' + FLOOD_MB + ' MB)', 'time', 'rate', 'vs tmux', 'vs raw node-pty'],
  row('raw node-pty', raw),
  row('tmux 3.3a (detached)', tmux),
  row('tabula, 1 viewer: delivered', one),
  row('tabula, 1 viewer: daemon screen caught up', { ...one, seconds: one.screenSeconds }),
  row('tabula, 8 viewers (slowest): delivered', { ...eight, seconds: eight.bytes / eight.minRate }),
  row('tabula, 8 viewers: daemon screen caught up', { ...eight, seconds: eight.screenSeconds }),
  row('tabula, 7 viewers + 1 stalled (slowest)', { ...sevenStalled, seconds: sevenStalled.bytes / sevenStalled.minRate }),
]
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)))
for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
console.log(`bytes: file ${fmt(mb(one.bytes))} MB; a viewer received ${fmt(mb(one.delivered))} MB (onlcr), raw node-pty read ${fmt(mb(raw.delivered))} MB`)
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
console.log(`7 readers beside a stalled viewer keep ${fmt((100 * sevenStalled.minRate) / eight.minRate, 0)}% of the 8-reader rate`)
console.log(`daemon peak RSS: 1 viewer ${fmt(mb(one.peak), 0)} MB, 8 viewers ${fmt(mb(eight.peak), 0)} MB, 7 + 1 stalled ${fmt(mb(sevenStalled.peak), 0)} MB`)
console.log(`attach to snapshot applied: 1,000 lines ${fmt(attach1k.median)} ms (${fmt(attach1k.snapshotBytes / 1024, 0)} KB), 10,000 lines ${fmt(attach10k.median)} ms (${fmt(attach10k.snapshotBytes / 1024, 0)} KB)`)
console.log(`keystroke echo round trip: tabula p50 ${fmt(echo.p50, 2)} ms, p99 ${fmt(echo.p99, 2)} ms; raw node-pty p50 ${fmt(rawEcho.p50, 2)} ms, p99 ${fmt(rawEcho.p99, 2)} ms`)
console.log(`memory per idle session (default scrollback): empty ${fmt(mb(idle), 2)} MB, after 5,000 lines ${fmt(mb(full), 2)} MB`)
