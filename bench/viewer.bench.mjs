// What an embedder gets: an SDK viewer (the live client `workspace.attach(key)` hands out,
// reading bytes through `onBytes`, as the web viewer and `tabula attach` do) against tmux
// ingesting the same file in a detached session, in the same rounds. Three sizes (80×24,
// 120×40, 200×50) × three contents (prose, base64 lines, a coloured log), plus a flood that
// fast-forward cannot skip (full-screen redraws with cursor movement). Rates count the file's
// bytes on both sides. `npm run bench -- viewer`; BENCH_VIEWER_MB (default 20) per flood,
// BENCH_ROUNDS (default 3) interleaved rounds.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { createLiveClient } from '../client-sdk/dist/live/index.js'
import { startDaemon } from './daemon.mjs'
import { tmuxIngest } from './tmux.mjs'

const MB = Number(process.env.BENCH_VIEWER_MB ?? 20)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
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
  'coloured log': fileOf('log', (i) => `\x1b[2m12:00:${String(i % 60).padStart(2, '0')}\x1b[0m \x1b[3${i % 7 + 1}m${i % 3 ? 'INFO' : 'WARN'}\x1b[0m \x1b[1mworker-${i % 9}\x1b[0m request ${i} served in \x1b[38;5;${i % 200}m${i % 97} ms\x1b[0m\n`),
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

async function tabula(daemon, file, cols, rows) {
  const session = await daemon.spawn({ command: 'sh', args: ['-c', `stty -echo; read go; cat ${file}; echo ${DONE}; exec cat`], cols, rows })
  const client = createLiveClient({ daemonUrl: daemon.url, token: daemon.token, viewer: { name: 'bench', kind: 'cli' }, WebSocket })
  const handle = client.attach(session.key)
  let start = 0
  let tail = ''
  const seen = new Promise((resolve) => {
    let first = true
    handle.onBytes((data) => {
      if (first) {
        first = false // the snapshot
        start = performance.now()
        handle.write('go\r')
        return
      }
      const text = tail + Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1', Math.max(0, data.length - 64))
      if (text.includes(DONE)) resolve(performance.now())
      tail = text.slice(-32)
    })
  })
  const end = await seen
  handle.dispose()
  await client.close()
  await daemon.close(session.key)
  return statSync(file).size / 1048576 / ((end - start) / 1000)
}

function tmux(file, cols, rows) {
  return statSync(file).size / 1048576 / tmuxIngest(file, cols, rows, WORK)
}

const median = (v) => {
  const sorted = [...v].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const daemon = await startDaemon()
// Warm the daemon once (V8 optimises the parser after the first megabytes).
await tabula(daemon, contents.prose, 120, 40)

const cases = []
for (const [cols, rows] of SIZES) for (const [name, file] of Object.entries(contents)) cases.push({ name: `${name}, ${cols}x${rows}`, file, cols, rows })
for (const [cols, rows] of SIZES) cases.push({ name: `full-screen redraws, ${cols}x${rows}`, file: redraws(cols, rows), cols, rows, unskippable: true })

const results = cases.map(() => ({ ours: [], theirs: [] }))
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]
    // Alternate who goes first, so neither always runs after the other.
    if ((round + i) % 2) {
      results[i].theirs.push(tmux(c.file, c.cols, c.rows))
      results[i].ours.push(await tabula(daemon, c.file, c.cols, c.rows))
    } else {
      results[i].ours.push(await tabula(daemon, c.file, c.cols, c.rows))
      results[i].theirs.push(tmux(c.file, c.cols, c.rows))
    }
  }
}
await daemon.stop()

console.log(`SDK viewer (onBytes) vs tmux, ${MB} MiB per flood, ${ROUNDS} rounds; MiB/s, medians; ratio = median of per-round ratios`)
const ratios = []
for (let i = 0; i < cases.length; i++) {
  const r = results[i]
  const perRound = r.ours.map((o, k) => o / r.theirs[k])
  const ratio = median(perRound)
  if (!cases[i].unskippable) ratios.push(ratio)
  console.log(
    `  ${cases[i].name.padEnd(32)} tabula ${median(r.ours).toFixed(1).padStart(6)}  tmux ${median(r.theirs).toFixed(1).padStart(6)}  ${ratio.toFixed(2)}x  [${perRound.map((x) => x.toFixed(2)).join(', ')}]`,
  )
}
console.log(`  nine cases: worst ${Math.min(...ratios).toFixed(2)}x, median ${median(ratios).toFixed(2)}x (targets: >= 1.0x each, 1.5x at the median; redraws >= 1.0x)`)
process.exit(0)
