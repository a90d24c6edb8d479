// The client SDK, end to end against a real `tabula up` (built packages):
//  1. close latency: a session closed at the daemon, until it has left each of 10 viewers' tabs();
//  2. convergence: 8 viewers each make 150 layout edits at once; how long after the last edit
//     every viewer shows the same tabs.
// All viewers run in this one process, so their CPU competes with each other and with the
// server on the same (shared, 2-core) machine: the figures are upper bounds for one viewer.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '../client-sdk/dist/index.js'

const VIEWERS = 10
const CLOSES = Number(process.env.BENCH_CLOSES ?? 40)
const EDITORS = 8
const EDITS = 150
const TABS = 12

const bin = fileURLToPath(new URL('../cli/bin/tabula.js', import.meta.url))
const home = mkdtempSync(join(tmpdir(), 'tabula-bench-sdk-'))
const server = spawn(process.execPath, [bin, 'up', '--port', '0', '--home', home], {
  stdio: 'ignore',
  env: { ...process.env, TABULA_LOG_LEVEL: 'warn' },
})
const clients = []
try {
  const runtime = join(home, 'runtime.json')
  while (!existsSync(runtime)) await sleep(25)
  await sleep(50)
  const { url } = JSON.parse(readFileSync(runtime, 'utf8'))
  const token = readFileSync(join(home, 'token'), 'utf8').trim()
  const http = (path, init = {}) =>
    fetch(url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
  mkdirSync('/tmp/tabula-bench', { recursive: true }) // a new workspace must be an existing directory
  const { id: workspace } = await (
    await http('/v1/workspaces', { method: 'POST', body: JSON.stringify({ path: '/tmp/tabula-bench' }) })
  ).json()

  const views = []
  for (let i = 0; i < VIEWERS; i++) {
    const client = await connect({ url, token, viewer: { name: `bench-${i}`, kind: 'bench' } })
    clients.push(client)
    views.push(client.workspace(workspace))
  }
  await Promise.all(views.map((v) => v.ready))

  // ── 1. a close reaches every viewer ──
  const samples = []
  const WARMUP = 5
  for (let i = 0; i < CLOSES + WARMUP; i++) {
    const key = await views[0].spawn({ command: 'sleep', args: ['600'] })
    await untilAll(views, (v) => v.tabs().some((t) => t.key === key))
    const gone = views.map((v) => whenGone(v, key))
    const start = performance.now()
    await http(`/v1/workspaces/${workspace}/sessions/${key}`, { method: 'DELETE' })
    const arrivals = await Promise.all(gone)
    if (i >= WARMUP) for (const at of arrivals) samples.push(at - start)
  }
  samples.sort((a, b) => a - b)
  console.log(
    `close reaches ${VIEWERS} viewers' tabs(): ${samples.length} samples, p50 ${q(samples, 0.5)} ms, p99 ${q(samples, 0.99)} ms, max ${samples.at(-1).toFixed(1)} ms (target: 50 ms)`,
  )

  // ── 2. concurrent edits converge ──
  for (let i = 0; i < TABS; i++) await views[0].spawn({ command: 'sleep', args: ['600'] })
  await untilAll(views, (v) => v.tabs().length === TABS)
  const editors = views.slice(0, EDITORS)
  let seed = 42
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const edit = (n, v, round) => {
    const tabs = v.tabs()
    const tab = tabs[Math.floor(random() * tabs.length)]
    if (random() < 0.6) v.move(tab.key, { index: Math.floor(random() * tabs.length) })
    else v.rename(tab.key, `v${n}-${round}`)
  }
  // a) interleaved: rounds of one edit per viewer, sockets flowing between rounds. The clock
  // for "after the last edit" starts right after the last round's edits, before the yield:
  // taken after it, the sockets would already have carried part of the last round, and the
  // figure would leave out the work it is meant to measure.
  let editStart = performance.now()
  let lastEdit = editStart
  for (let round = 0; round < EDITS; round++) {
    for (const [n, v] of editors.entries()) edit(n, v, round)
    if (round === EDITS - 1) lastEdit = performance.now()
    await new Promise((r) => setImmediate(r))
  }
  await untilAll(views, () => agree(views))
  console.log(
    `interleaved: ${EDITORS} viewers x ${EDITS} edits issued in ${(lastEdit - editStart).toFixed(0)} ms; ` +
      `all ${VIEWERS} viewers agree ${(performance.now() - lastEdit).toFixed(0)} ms after the last edit`,
  )
  // b) burst: every viewer makes its 150 edits without yielding, so all 1200 are in flight at once.
  editStart = performance.now()
  for (const [n, v] of editors.entries()) for (let round = 0; round < EDITS; round++) edit(n, v, round)
  lastEdit = performance.now()
  await untilAll(views, () => agree(views))
  console.log(
    `burst: ${EDITORS} viewers x ${EDITS} edits issued in ${(lastEdit - editStart).toFixed(0)} ms; ` +
      `all ${VIEWERS} viewers agree ${(performance.now() - lastEdit).toFixed(0)} ms after the last edit`,
  )
} finally {
  await Promise.all(clients.map((c) => c.close()))
  server.kill('SIGTERM')
  await new Promise((r) => server.once('exit', r))
  rmSync(home, { recursive: true, force: true })
}

function whenGone(view, key) {
  return new Promise((resolve) => {
    const check = () => {
      if (view.tabs().some((t) => t.key === key)) return false
      sub?.dispose()
      resolve(performance.now())
      return true
    }
    let sub
    if (!check()) sub = view.on('change', check)
  })
}

function untilAll(views, probe) {
  return new Promise((resolve) => {
    const subs = []
    const check = () => {
      if (!views.every((v) => probe(v))) return
      for (const s of subs) s.dispose()
      resolve()
    }
    for (const v of views) subs.push(v.on('change', check))
    check()
  })
}

function agree(views) {
  const first = JSON.stringify(views[0].tabs())
  return views.every((v) => JSON.stringify(v.tabs()) === first)
}

function q(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1)
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}
