// What an embedder gets: an SDK viewer (the live client `workspace.attach(key)` hands out,
// reading bytes through `onBytes`, as the web viewer and `tabula attach` do) against tmux
// ingesting the same file in a detached session of the same size, in the same rounds. Three
// sizes (80×24, 120×40, 200×50) × three contents (prose, base64 lines, a coloured log), plus a
// flood that fast-forward cannot skip (full-screen redraws with cursor movement). Both sides are
// timed from a keystroke (`go`) to the end of the flood; rates count the file's bytes on both
// sides. Each case's ratio is the median of its per-round ratios, the two runs of a round going
// back to back, in an order that alternates. Beside each case: CPU per MiB, the viewer's mean
// chunk, and how busy the daemon's main thread, its busiest other thread, the viewer and `cat`
// were (which stage, if any, limits the rate). `npm run bench -- viewer`; BENCH_VIEWER_MB (default
// 20) per flood, BENCH_ROUNDS (default 5: a median robust to two bad rounds) rounds, BENCH_VIEWER_CASES (a comma-separated list of
// substrings of case names) to run only some cases.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { createLiveClient } from '../client-sdk/dist/live/index.js'
import { startDaemon } from './daemon.mjs'
import { FULL_RESET } from '@tabula/protocol'
import { tmuxIngestOnCue } from './tmux.mjs'
import { CLOCK_TICKS, cpuTicks, threadCpu } from './proc.mjs'

const MB = Number(process.env.BENCH_VIEWER_MB ?? 20)
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 5)))
const ONLY = (process.env.BENCH_VIEWER_CASES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
const DONE = '__VIEWER_DONE__'
const WORK = join(tmpdir(), 'tabula-bench')
mkdirSync(WORK, { recursive: true })

function fileOf(name, make) {
  const path = join(WORK, `viewer-${name}-${MB}.txt`)
  if (existsSync(path)) return path
  const target = MB * 1024 * 1024
  const parts = []
  let size = 0
  for (let i = 0; size < target; i++) {
    const part = make(i)
    parts.push(part)
    size += part.length
  }
  writeFileSync(path, parts.join(''))
  return path
}
const WORDS = 'the quick brown fox jumps over the lazy dog while a terminal shows it to several viewers at once'.split(' ')
const contents = {
  prose: fileOf('prose', (i) => {
    let line = ''
    for (let w = 0; w < 8 + (i % 17); w++) line += WORDS[(i * 7 + w) % WORDS.length] + ' '
    return line.trimEnd() + '\n'
  }),
  base64: fileOf('base64', (i) => Buffer.from(`${i}`.repeat(40).slice(0, 57)).toString('base64') + '\n'),
  'coloured log': fileOf(
    'log',
    (i) =>
      `\x1b[2m12:00:${String(i % 60).padStart(2, '0')}\x1b[0m \x1b[3${(i % 7) + 1}m${i % 3 ? 'INFO' : 'WARN'}\x1b[0m \x1b[1mworker-${i % 9}\x1b[0m request ${i} served in \x1b[38;5;${i % 200}m${i % 97} ms\x1b[0m\n`,
  ),
}
/** Full-screen redraws: every frame homes the cursor and rewrites each row at an address. */
const redraws = (cols, rows) =>
  fileOf(`redraw-${cols}x${rows}`, (frame) => {
    let out = '\x1b[H'
    for (let r = 1; r <= rows; r++) out += `\x1b[${r};1H\x1b[3${(frame + r) % 8}m` + `${frame}:${r} `.padEnd(cols - 1, '#') + '\x1b[0m'
    return out
  })

const SIZES = [
  [80, 24],
  [120, 40],
  [200, 50],
]

const RESET = Buffer.from(FULL_RESET)
const startsWithReset = (data) => data.length >= RESET.length && RESET.every((b, i) => data[i] === b)

/**
 * One flood through the SDK: MiB/s of the file, the CPU time it cost (the daemon's threads, the
 * viewer's process and the session's `cat`, until the daemon's own screen has parsed it all: a
 * second attach's snapshot waits for that), and how many times the daemon resynced the viewer
 * (dropped its backlog for a fresh snapshot, docs/protocol.md §5): a resynced viewer skipped
 * output, so its rate is not comparable, and the run says so.
 */
async function tabula(daemon, file, cols, rows) {
  const session = await daemon.spawn({
    command: 'sh',
    args: ['-c', `stty -echo; read go; cat ${file}; echo ${DONE}; exec cat`],
    cols,
    rows,
  })
  const client = createLiveClient({ daemonUrl: daemon.url, token: daemon.token, viewer: { name: 'bench', kind: 'cli' }, WebSocket })
  const handle = client.attach(session.key)
  let start = 0
  let tail = ''
  let resyncs = 0
  let chunks = 0
  let received = 0
  let cpuBefore = 0
  let busyBefore = null
  const cpuNow = () => {
    const own = process.cpuUsage()
    return cpuTicks(daemon.proc.pid, false) / CLOCK_TICKS + cpuTicks(session.pid, true) / CLOCK_TICKS + (own.user + own.system) / 1e6
  }
  const seen = new Promise((resolve) => {
    let first = true
    handle.onBytes((data) => {
      if (first) {
        first = false // the snapshot
        cpuBefore = cpuNow()
        busyBefore = busyNow(daemon.proc.pid, session.pid)
        start = performance.now()
        handle.write('go\r')
        return
      }
      if (startsWithReset(data)) resyncs++
      chunks++
      received += data.length
      const text = tail + Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1', Math.max(0, data.length - 64))
      if (text.includes(DONE)) resolve(performance.now())
      tail = text.slice(-32)
    })
  })
  const end = await seen
  const busy = busyShares(busyBefore, busyNow(daemon.proc.pid, session.pid), (end - start) / 1000)
  // The screen catches up: a snapshot cut now waits for everything before it to be parsed.
  const late = client.attach(session.key)
  await new Promise((resolve) => late.onBytes(resolve))
  const cpuSeconds = cpuNow() - cpuBefore
  late.dispose()
  handle.dispose()
  await client.close()
  await daemon.close(session.key)
  const mib = statSync(file).size / 1048576
  return { rate: mib / ((end - start) / 1000), cpuMsPerMiB: (1000 * cpuSeconds) / mib, resyncs, chunkBytes: received / chunks, busy }
}

/**
 * CPU seconds so far of the daemon's main thread, of its busiest other thread (a screen worker
 * during a flood), of this viewer's process and of the session's `cat`: the share of the flood's
 * wall time each was busy says whether one of them limits the rate (near 100 %) or all wait.
 */
function busyNow(daemonPid, sessionPid) {
  const threads = Object.fromEntries(threadCpu(daemonPid).map((t) => [String(t.tid), t.seconds]))
  const own = process.cpuUsage()
  return { threads, main: String(daemonPid), viewer: (own.user + own.system) / 1e6, cat: cpuTicks(sessionPid, true) / CLOCK_TICKS }
}
function busyShares(before, after, seconds) {
  const share = (a, b) => (a - b) / seconds
  let other = 0
  for (const [tid, t] of Object.entries(after.threads)) if (tid !== after.main) other = Math.max(other, share(t, before.threads[tid] ?? 0))
  return {
    main: share(after.threads[after.main] ?? 0, before.threads[before.main] ?? 0),
    other,
    viewer: share(after.viewer, before.viewer),
    cat: share(after.cat, before.cat),
  }
}

function tmux(file, cols, rows) {
  const mib = statSync(file).size / 1048576
  const run = tmuxIngestOnCue(file, cols, rows, WORK)
  return { rate: mib / run.seconds, cpuMsPerMiB: (1000 * run.cpuSeconds) / mib }
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
const median = (v) => {
  const sorted = [...v].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const cases = []
for (const [cols, rows] of SIZES)
  for (const [name, file] of Object.entries(contents)) cases.push({ name: `${name}, ${cols}x${rows}`, file, cols, rows })
for (const [cols, rows] of SIZES)
  cases.push({ name: `full-screen redraws, ${cols}x${rows}`, file: redraws(cols, rows), cols, rows, unskippable: true })
const chosen = ONLY.length ? cases.filter((c) => ONLY.some((o) => c.name.includes(o))) : cases

console.log(`SDK viewer (onBytes) vs tmux, ${MB} MiB per flood, ${ROUNDS} rounds, ${chosen.length} cases, node ${process.version}`)
console.log(`load average at the start: ${loadavg()}`)
const daemon = await startDaemon()
// Warm the daemon once (V8 optimises the parser after the first megabytes).
await tabula(daemon, contents.prose, 120, 40)

const results = chosen.map(() => ({ ours: [], theirs: [], oursCpu: [], theirsCpu: [], chunkBytes: [], busy: [], resyncs: 0 }))
const began = performance.now()
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < chosen.length; i++) {
    const c = chosen[i]
    const r = results[i]
    const ours = async () => {
      const run = await tabula(daemon, c.file, c.cols, c.rows)
      r.ours.push(run.rate)
      r.oursCpu.push(run.cpuMsPerMiB)
      r.chunkBytes.push(run.chunkBytes)
      r.busy.push(run.busy)
      r.resyncs += run.resyncs
    }
    const theirs = () => {
      const run = tmux(c.file, c.cols, c.rows)
      r.theirs.push(run.rate)
      r.theirsCpu.push(run.cpuMsPerMiB)
    }
    // Alternate who goes first, so neither always runs after the other.
    if ((round + i) % 2) {
      theirs()
      await ours()
    } else {
      await ours()
      theirs()
    }
  }
  console.log(`  round ${round + 1} done (${((performance.now() - began) / 1000).toFixed(0)} s), load average ${loadavg()}`)
}
await daemon.stop()

console.log(
  `MiB/s and CPU ms per MiB (all processes of each side), medians of the rounds; ratio = median of the per-round rate ratios [per round]; ` +
    `onBytes: the SDK viewer's mean chunk; busy: share of the flood's wall time the daemon's main thread / its busiest other thread / ` +
    `the viewer's process / cat were on a CPU (medians)`,
)
const ratios = []
const redrawRatios = []
for (let i = 0; i < chosen.length; i++) {
  const r = results[i]
  const perRound = r.ours.map((o, k) => o / r.theirs[k])
  const ratio = median(perRound)
  ;(chosen[i].unskippable ? redrawRatios : ratios).push(ratio)
  const resynced = r.resyncs ? `  (viewer resynced ${r.resyncs}x: output skipped)` : ''
  console.log(
    `  ${chosen[i].name.padEnd(32)} tabula ${median(r.ours).toFixed(1).padStart(6)}  tmux ${median(r.theirs).toFixed(1).padStart(6)}  ${ratio.toFixed(2)}x  [${perRound.map((x) => x.toFixed(2)).join(', ')}]` +
      `  cpu ${median(r.oursCpu).toFixed(0)} / ${median(r.theirsCpu).toFixed(0)} ms/MiB  onBytes ${(median(r.chunkBytes) / 1024).toFixed(0)} KiB` +
      `  busy ${['main', 'other', 'viewer', 'cat'].map((k) => `${(100 * median(r.busy.map((b) => b[k]))).toFixed(0)}%`).join(' / ')}${resynced}`,
  )
}
if (ratios.length)
  console.log(
    `  text cases (${ratios.length}): worst ${Math.min(...ratios).toFixed(2)}x, median ${median(ratios).toFixed(2)}x (targets: >= 1.0x each, 1.5x at the median)`,
  )
if (redrawRatios.length)
  console.log(`  full-screen redraws (${redrawRatios.length}): worst ${Math.min(...redrawRatios).toFixed(2)}x (target >= 1.0x)`)
console.log(`load average at the end: ${loadavg()}`)
process.exit(0)
