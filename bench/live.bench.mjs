// The live channel, measured side by side with tmux and raw node-pty in one run:
// flood throughput to 1 viewer, 8 viewers, and 7 viewers + 1 stalled; attach latency for 1,000
// and 10,000 lines of scrollback; keystroke echo round trip; memory per idle session.
//
// One flood is too little on a shared 2-core machine (rows moved by ±20 % between runs), so the
// seven throughput contenders (raw node-pty, tmux, tabula with 1, 8, and 7 + 1 stalled viewers,
// and tabula with --no-fast-forward, its screens parsing every byte, with 1 and 8 viewers)
// run in BENCH_ROUNDS rounds (default 3), interleaved within a round in an order that changes
// every round; each row reports the median and the min–max, ratios are taken from the medians,
// and the two ratios the issue sets targets for are also given round by round.
//
// Runs the BUILT daemon through the real CLI (`tabula daemon`), and talks the wire protocol with
// `ws`, so what is measured is what a viewer gets. `BENCH_MB=20 BENCH_ROUNDS=1 node
// bench/live.bench.mjs` for a quick run while developing.
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import pty from 'node-pty'
import xtermHeadless from '@xterm/headless'
import { startDaemon as startTabulaDaemon } from './daemon.mjs'
import { tmuxIngest } from './tmux.mjs'

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
  return linesFile(
    `flood-${megabytes}mb.txt`,
    megabytes,
    (i) => `${String(i).padStart(9, '0')} the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs\n`,
  )
}

/**
 * About FLOOD_MB of a coloured test-runner log: several SGR sequences on every line. Whole lines
 * only (a cut escape sequence would swallow the first byte of the end marker), so the file is a
 * little over the size; rates use its real size.
 */
function colouredFloodFile(megabytes) {
  const line = (i) =>
    `\x1b[32m\x1b[1m PASS \x1b[22m\x1b[39m src/module-${String(i).padStart(7, '0')}.test.ts ` +
    `\x1b[2m(${i % 997} ms)\x1b[22m \x1b[38;5;${i % 256}mcoverage ${i % 100}%\x1b[0m\n`
  return linesFile(`flood-coloured-${megabytes}mb.txt`, megabytes, line, { wholeLines: true })
}

/**
 * `line(0)`, `line(1)`, … up to `megabytes` MiB in WORK/`name`, made once and reused between
 * runs: cut at exactly that size, or, with `wholeLines`, ending with the line that reaches it.
 */
function linesFile(name, megabytes, line, { wholeLines = false } = {}) {
  const path = join(WORK, name)
  const target = megabytes * 1024 * 1024
  const size = existsSync(path) ? statSync(path).size : -1
  if (wholeLines ? size >= target : size === target) return path
  const chunks = []
  let written = 0
  for (let i = 0; written < target; i++) {
    const l = line(i)
    chunks.push(l)
    written += l.length
  }
  const text = chunks.join('')
  writeFileSync(path, wholeLines ? text : text.slice(0, target))
  return path
}

/** N lines of coloured text, as a busy build log would leave in the scrollback. */
function scrollbackFile(lines) {
  const path = join(WORK, `scrollback-${lines}.txt`)
  if (existsSync(path)) return path
  const out = []
  for (let i = 0; i < lines; i++)
    out.push(`\x1b[3${i % 8}mline ${i}\x1b[0m compiling module ${i} of ${lines} \x1b[1m[ok]\x1b[0m ${'.'.repeat(i % 40)}\n`)
  writeFileSync(path, out.join(''))
  return path
}

// ── the daemon ───────────────────────────────────────────────────────────────────────────────

const startDaemon = (extra = []) => startTabulaDaemon(extra, { cols: COLS, rows: ROWS })

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
  return { seconds: tmuxIngest(file, COLS, ROWS, WORK), bytes: statSync(file).size }
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
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/**
 * The order of the contenders in round `round`: start at a different one each round, and step
 * through them by a different stride (1, 2, 3, 4, then again), so that no contender always runs
 * first, and none always runs after the same neighbour (with stride s, x follows x - s). Needs a
 * prime number of contenders for every stride to visit them all; checked below.
 */
function orderOf(round, n) {
  const step = 1 + (round % (n - 1))
  const start = (2 * round) % n
  const order = Array.from({ length: n }, (_, i) => (start + i * step) % n)
  if (new Set(order).size !== n) throw new Error(`orderOf: ${n} contenders need another rotation`)
  return order
}

const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 3)))
const file = floodFile()
console.log(`flood: cat of ${FLOOD_MB} MB of text (${COLS}x${ROWS}), node ${process.version}, ${ROUNDS} round(s)`)
console.log(`load average at the start: ${loadavg()}`)

const daemon = await startDaemon()
// The same daemon with its screens parsing every byte (fast-forward off), for comparison.
const parseAll = await startDaemon(['--no-fast-forward'])
// A daemon runs for days: measure it warm. One short flood lets V8 optimise the parser first.
// The same daemons then serve every round.
await floodThroughput(daemon, floodFileOf(Math.min(FLOOD_MB, 10)), 1)
await floodThroughput(parseAll, floodFileOf(Math.min(FLOOD_MB, 10)), 1)

// One flood per contender per round. Each row is a rate in bytes of the file per second.
const contenders = [
  { name: 'raw node-pty', run: () => rawPtyThroughput(file) },
  { name: 'tmux', run: async () => tmuxThroughput(file) },
  { name: 'tabula 1', run: () => floodThroughput(daemon, file, 1) },
  { name: 'tabula 8', run: () => floodThroughput(daemon, file, 8) },
  { name: 'tabula 7+1', run: () => floodThroughput(daemon, file, 7, 1) },
  { name: 'tabula 1, parse all', run: () => floodThroughput(parseAll, file, 1) },
  { name: 'tabula 8, parse all', run: () => floodThroughput(parseAll, file, 8) },
]
/** Runs every contender once per round, interleaved (see orderOf); results[contender][round]. */
async function runRounds(contenders) {
  const results = contenders.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    const order = orderOf(round, contenders.length)
    for (const i of order) {
      // Let the previous flood's leftovers (closed session, sockets, the bench's own garbage) settle.
      globalThis.gc?.()
      await sleep(500)
      results[i][round] = await contenders[i].run()
    }
    console.log(`round ${round + 1} done (${order.map((i) => contenders[i].name).join(' → ')}); load average ${loadavg()}`)
  }
  return results
}

const results = await runRounds(contenders)

// The same comparison on a coloured log (SGR sequences on every line, as test runners and
// compilers print): fast-forward replays colours instead of printing, so it should hold there too.
const colourFile = colouredFloodFile(FLOOD_MB)
const colour = await runRounds([
  { name: 'tmux, coloured', run: async () => tmuxThroughput(colourFile) },
  { name: 'tabula 1, coloured', run: () => floodThroughput(daemon, colourFile, 1) },
  { name: 'tabula 1, parse all, coloured', run: () => floodThroughput(parseAll, colourFile, 1) },
])

await parseAll.stop()
const echo = await echoRoundTrip(daemon)
const rawEcho = await rawEchoRoundTrip()
const idle = await memoryPerSession(daemon, 20, 0)
const full = await memoryPerSession(daemon, 10, 5000)
await daemon.stop()

const big = await startDaemon(['--scrollback', '10000'])
const attach1k = await attachLatency(big, 1000)
const attach10k = await attachLatency(big, 10000)
await big.stop()

const [raw, tmux, one, eight, sevenStalled, oneAll, eightAll] = results
const rateOf = (r, seconds = r.seconds) => mb(r.bytes) / seconds
// Each reported row: its per-round rates (MB/s), in round order.
const rows = [
  ['raw node-pty', raw.map((r) => rateOf(r))],
  ['tmux 3.3a (detached)', tmux.map((r) => rateOf(r))],
  ['tabula, 1 viewer: delivered', one.map((r) => rateOf(r))],
  ['tabula, 1 viewer: daemon screen caught up', one.map((r) => rateOf(r, r.screenSeconds))],
  ['tabula, 8 viewers (slowest): delivered', eight.map((r) => mb(r.minRate))],
  ['tabula, 8 viewers: daemon screen caught up', eight.map((r) => rateOf(r, r.screenSeconds))],
  ['tabula, 7 viewers + 1 stalled (slowest)', sevenStalled.map((r) => mb(r.minRate))],
  ['--no-fast-forward, 1 viewer: delivered', oneAll.map((r) => rateOf(r))],
  ['--no-fast-forward, 1 viewer: screen caught up', oneAll.map((r) => rateOf(r, r.screenSeconds))],
  ['--no-fast-forward, 8 viewers (slowest)', eightAll.map((r) => mb(r.minRate))],
]
const tmuxMedian = median(rows[1][1])
const rawMedian = median(rows[0][1])
const table = [
  [`throughput (cat of ${FLOOD_MB} MB, ${ROUNDS} rounds)`, 'median rate', 'min–max', 'vs tmux', 'vs raw node-pty'],
  ...rows.map(([name, rates]) => [
    name,
    `${fmt(median(rates))} MB/s`,
    `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`,
    `${fmt(median(rates) / tmuxMedian, 2)}x`,
    `${fmt(median(rates) / rawMedian, 2)}x`,
  ]),
]
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)))
for (const r of table) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
console.log('(vs tmux / vs raw: ratios of the medians)')

// Ratios within each round: the two contenders of a ratio ran minutes apart at most, seconds
// apart usually, so these cancel slow drifts in the machine's load better than ratios of medians.
const perRound = Array.from({ length: ROUNDS }, (_, round) => ({
  oneVsTmux: rows[2][1][round] / rows[1][1][round],
  screenVsTmux: rows[3][1][round] / rows[1][1][round],
  sevenOfEight: sevenStalled[round].minRate / eight[round].minRate,
  parseAllVsTmux: rows[7][1][round] / rows[1][1][round],
}))
console.log('per round (MB/s, in table order; ratios within the round):')
for (let round = 0; round < ROUNDS; round++) {
  const p = perRound[round]
  console.log(
    `  round ${round + 1}: ${rows.map(([, rates]) => fmt(rates[round])).join(' / ')}; ` +
      `tabula 1 delivered / tmux ${fmt(p.oneVsTmux, 2)}x, screen caught up / tmux ${fmt(p.screenVsTmux, 2)}x; ` +
      `7 + 1 stalled keep ${fmt(100 * p.sevenOfEight, 0)}% of 8; --no-fast-forward 1 / tmux ${fmt(p.parseAllVsTmux, 2)}x`,
  )
}
console.log(
  `median of the per-round ratios: tabula 1 viewer delivered / tmux ${fmt(median(perRound.map((p) => p.oneVsTmux)), 2)}x, ` +
    `screen caught up / tmux ${fmt(median(perRound.map((p) => p.screenVsTmux)), 2)}x, ` +
    `--no-fast-forward delivered / tmux ${fmt(median(perRound.map((p) => p.parseAllVsTmux)), 2)}x; ` +
    `7 readers beside a stalled viewer keep ${fmt(100 * median(perRound.map((p) => p.sevenOfEight)), 0)}% of the 8-reader rate ` +
    `(${fmt((100 * median(rows[6][1])) / median(rows[4][1]), 0)}% from the medians)`,
)
console.log(
  `bytes: file ${fmt(mb(one[0].bytes))} MB; a viewer received ${fmt(mb(one[0].delivered))} MB (onlcr), raw node-pty read ${fmt(mb(raw[0].delivered))} MB`,
)
console.log(`load average at the end: ${loadavg()}`)
{
  const [tmuxC, oneC, allC] = colour.map((rs) => rs.map((r) => rateOf(r)))
  const ratios = (a) => a.map((rate, round) => rate / tmuxC[round])
  console.log(
    `coloured flood (cat of ${FLOOD_MB} MB with SGR on every line, ${ROUNDS} rounds): tmux ${fmt(median(tmuxC))} MB/s; ` +
      `tabula 1 viewer ${fmt(median(oneC))} MB/s, median of per-round ratios ${fmt(median(ratios(oneC)), 2)}x tmux ` +
      `(${ratios(oneC)
        .map((r) => fmt(r, 2))
        .join(' / ')}); --no-fast-forward ${fmt(median(allC))} MB/s, ${fmt(median(ratios(allC)), 2)}x`,
  )
}
const peakOf = (rs) => fmt(mb(Math.max(...rs.map((r) => r.peak))), 0)
console.log(
  `daemon peak RSS (highest of the rounds): 1 viewer ${peakOf(one)} MB, 8 viewers ${peakOf(eight)} MB, 7 + 1 stalled ${peakOf(sevenStalled)} MB; --no-fast-forward 1 viewer ${peakOf(oneAll)} MB, 8 viewers ${peakOf(eightAll)} MB`,
)
console.log(
  `attach to snapshot applied: 1,000 lines ${fmt(attach1k.median)} ms (${fmt(attach1k.snapshotBytes / 1024, 0)} KB), 10,000 lines ${fmt(attach10k.median)} ms (${fmt(attach10k.snapshotBytes / 1024, 0)} KB)`,
)
console.log(
  `keystroke echo round trip: tabula p50 ${fmt(echo.p50, 2)} ms, p99 ${fmt(echo.p99, 2)} ms; raw node-pty p50 ${fmt(rawEcho.p50, 2)} ms, p99 ${fmt(rawEcho.p99, 2)} ms`,
)
console.log(`memory per idle session (default scrollback): empty ${fmt(mb(idle), 2)} MB, after 5,000 lines ${fmt(mb(full), 2)} MB`)
