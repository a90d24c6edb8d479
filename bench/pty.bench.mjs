// The PTY layer alone, side by side in one run: raw node-pty, tabula's seam over it
// (daemon/src/sessions/pty.ts: the held slave and the end-marker drain), and, when it is
// installed somewhere, @replit/ruspty (not a dependency: `BENCH_RUSPTY=/path/to/node_modules`).
//
// 1. Loss: `cat FILE` of 20 KB, 300 KB, 5 MB and 50 MB (BENCH_LOSS_SIZES, in KiB), each
//    BENCH_LOSS_RUNS times (default 20; 100 for the figures in docs/performance.md): how many of
//    the bytes the program wrote were delivered before the layer reported the exit.
// 2. Throughput: `cat` of BENCH_MB MiB of text (default 100), BENCH_ROUNDS interleaved rounds
//    (default 3), read as fast as the layer delivers, no terminal emulation: the bytes of the
//    file divided by the time from spawn to the exit.
//
// Runs the BUILT seam (npm run build first; `npm run bench -- pty` does).
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pty from 'node-pty'
import { spawnPty } from '../daemon/dist/sessions/pty.js'

const WORK = join(tmpdir(), 'tabula-bench')
mkdirSync(WORK, { recursive: true })
const SIZES_KIB = (process.env.BENCH_LOSS_SIZES ?? '20,300,5120,51200').split(',').map(Number)
const LOSS_RUNS = Number(process.env.BENCH_LOSS_RUNS ?? 20)
const FLOOD_MB = Number(process.env.BENCH_MB ?? 100)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const ENV = { ...process.env, TERM: 'xterm-256color' }

/** `kib` KiB of ~100-column text lines, made once; returns the path and the bytes a tty delivers (LF → CR LF). */
function textFile(kib) {
  const path = join(WORK, `pty-${kib}k.txt`)
  const size = kib * 1024
  if (!existsSync(path) || statSync(path).size !== size) {
    const line = (i) => `${String(i).padStart(9, '0')} the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs\n`
    const parts = []
    for (let i = 0, n = 0; n < size; i++) parts.push(line(i)), (n += line(i).length)
    writeFileSync(path, parts.join('').slice(0, size))
  }
  const text = readFileSync(path)
  let lines = 0
  for (let at = text.indexOf(10); at !== -1; at = text.indexOf(10, at + 1)) lines++
  return { path, delivered: size + lines }
}

// Each layer: run(file, onData) resolves when the layer reports the exit.
const layers = [
  {
    name: 'node-pty 1.0.0, raw',
    run: (file, onData) =>
      new Promise((resolve) => {
        const p = pty.spawn('/bin/cat', [file], { cols: 200, rows: 50, env: ENV, encoding: null })
        p.onData(onData)
        p.onExit(() => resolve())
      }),
  },
  {
    name: 'tabula seam (node-pty + drain)',
    run: (file, onData) =>
      new Promise((resolve) => {
        spawnPty({ file: '/bin/cat', args: [file], cwd: '/', env: ENV, cols: 200, rows: 50 }, { data: onData, exit: () => resolve() })
      }),
  },
]

if (process.env.BENCH_RUSPTY) {
  const require = createRequire(join(process.env.BENCH_RUSPTY, 'noop.js'))
  const { Pty } = require('@replit/ruspty')
  const version = JSON.parse(readFileSync(require.resolve('@replit/ruspty/package.json'), 'utf8')).version
  layers.push({
    name: `@replit/ruspty ${version}`,
    run: (file, onData) =>
      new Promise((resolve) => {
        const p = new Pty({
          command: '/bin/cat',
          args: [file],
          envs: ENV,
          dir: '/',
          size: { cols: 200, rows: 50 },
          onExit: () => resolve(),
        })
        p.read.on('data', onData)
      }),
  })
}

async function deliveredBeforeExit(layer, file) {
  let got = 0
  await layer.run(file, (data) => (got += data.length))
  return got
}

console.log(
  `node ${process.version}; loss: ${LOSS_RUNS} runs at ${SIZES_KIB.map((k) => `${k} KiB`).join(', ')}; throughput: ${FLOOD_MB} MiB, ${ROUNDS} round(s)`,
)

if (LOSS_RUNS > 0)
  console.log('\n| bytes lost before the exit was reported | ' + SIZES_KIB.map((k) => `${k} KiB × ${LOSS_RUNS}`).join(' | ') + ' |')
if (LOSS_RUNS > 0) console.log('|---|' + SIZES_KIB.map(() => '---:').join('|') + '|')
for (const layer of LOSS_RUNS > 0 ? layers : []) {
  const cells = []
  for (const kib of SIZES_KIB) {
    const { path, delivered } = textFile(kib)
    let lost = 0
    let runsWithLoss = 0
    for (let run = 0; run < LOSS_RUNS; run++) {
      const got = await deliveredBeforeExit(layer, path)
      if (got < delivered) runsWithLoss++
      lost += Math.max(0, delivered - got)
    }
    cells.push(`${lost.toLocaleString('en')} B (${runsWithLoss} runs)`)
  }
  console.log(`| ${layer.name} | ${cells.join(' | ')} |`)
}

const flood = textFile(FLOOD_MB * 1024)
const rates = new Map(layers.map((l) => [l.name, []]))
/** CPU time of this process (the reader's side) per run: far less disturbed by other load than wall time. */
const cpu = new Map(layers.map((l) => [l.name, []]))
for (let round = 0; round < ROUNDS; round++) {
  // A different layer first in every round.
  const order = layers.map((_, i) => layers[(i + round) % layers.length])
  for (const layer of order) {
    global.gc?.()
    await new Promise((r) => setTimeout(r, 300))
    const start = performance.now()
    const cpuStart = process.cpuUsage()
    await deliveredBeforeExit(layer, flood.path)
    rates.get(layer.name).push((FLOOD_MB * 1024 * 1024) / ((performance.now() - start) / 1000) / (1024 * 1024))
    const used = process.cpuUsage(cpuStart)
    cpu.get(layer.name).push((used.user + used.system) / 1000)
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const base = median(rates.get(layers[0].name))
console.log(
  `\n| raw read throughput, cat of ${FLOOD_MB} MiB | median | min–max | vs raw node-pty (medians) | vs raw node-pty (median of per-round ratios) | reader CPU, median |`,
)
console.log('|---|---:|---:|---:|---:|---:|')
const baseRounds = rates.get(layers[0].name)
for (const layer of layers) {
  const xs = rates.get(layer.name)
  const perRound = median(xs.map((x, round) => x / baseRounds[round]))
  console.log(
    `| ${layer.name} | ${median(xs).toFixed(1)} MiB/s | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}× | ${perRound.toFixed(2)}× | ${median(cpu.get(layer.name)).toFixed(0)} ms |`,
  )
}
