// Snapshots against tmux, side by side in one run: the time from attach to the snapshot applied
// in the viewer's terminal with 10,000 lines of coloured scrollback (tabula through the SDK, the
// way `tabula attach` attaches; tmux as `capture-pane` of the same history
// written into the same kind of terminal), and the memory per idle session holding a full
// 5,000-line scrollback of 196-character lines at 200×50 (the daemon's RSS growth against the
// tmux server's, for the same text). Beside the full attach, a screen-first attach (the web
// viewer's): attach to the screen applied, and to the history applied after it. `npm run bench
// -- snapshot`; about two minutes.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import xtermHeadless from '@xterm/headless'
// The SDK's live client: what `workspace.attach(key)` hands out (client-sdk/src/live).
import { createLiveClient } from '../client-sdk/dist/live/index.js'
import { rssOf, startDaemon as startTabulaDaemon } from './daemon.mjs'

const COLS = 200
const ROWS = 50
const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 8)
const DONE = '__SNAP_DONE__'
const WORK = join(tmpdir(), 'tabula-bench')
mkdirSync(WORK, { recursive: true })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function file(name, make) {
  const path = join(WORK, name)
  if (!existsSync(path)) writeFileSync(path, make())
  return path
}
/** 10,000 lines of a coloured build log (the attach case). */
const colouredLog = (lines) =>
  file(`snap-coloured-${lines}.txt`, () => {
    const out = []
    for (let i = 0; i < lines; i++)
      out.push(`\x1b[3${i % 8}mline ${i}\x1b[0m compiling module ${i} of ${lines} \x1b[1m[ok]\x1b[0m ${'.'.repeat(i % 40)}\n`)
    return out.join('')
  })
/** 5,049 lines of 196 characters (the memory case: a full 5,000-line scrollback at 200×50). */
const wideLines = () =>
  file('snap-wide-5049.txt', () => {
    const out = []
    for (let i = 0; i < 5049; i++)
      out.push((String(i).padStart(6, '0') + ' ' + 'the quick brown fox jumps over the lazy dog '.repeat(5)).slice(0, 196) + '\n')
    return out.join('')
  })

const startDaemon = (scrollback) => startTabulaDaemon(['--scrollback', String(scrollback)], { cols: COLS, rows: ROWS })

const freshTerm = (scrollback) =>
  new xtermHeadless.Terminal({ cols: COLS, rows: ROWS, scrollback, allowProposedApi: true, logLevel: 'off' })
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]

const liveClient = (daemon) =>
  createLiveClient({ daemonUrl: daemon.url, token: daemon.token, viewer: { name: 'bench', kind: 'cli' }, WebSocket })
const opened = (client) =>
  new Promise((resolve) => {
    if (client.state === 'open') return resolve()
    const sub = client.onState((state) => state === 'open' && (sub.dispose(), resolve()))
  })

/**
 * `handle.attach(key)` until a fresh terminal has parsed the first onBytes chunk (reset +
 * snapshot, history included). Resolves with when the chunk arrived and when it was parsed.
 */
function attachAndApply(client, key, lines, start) {
  const term = freshTerm(lines + 100)
  const handle = client.attach(key)
  return new Promise((resolve) => {
    const sub = handle.onBytes((data) => {
      sub.dispose()
      const received = performance.now() - start
      term.write(data, () => {
        const applied = performance.now() - start
        if (term.buffer.active.length < lines) throw new Error(`tabula's snapshot held ${term.buffer.active.length} lines`)
        handle.dispose()
        term.dispose()
        // A copy for parseAlone, taken once the clock has stopped.
        resolve({ received, applied, bytes: data.length, data: data.slice() })
      })
    })
  })
}

/**
 * The same bytes written into a fresh terminal alone, no socket, no daemon: what the viewer's
 * parse costs by itself (xterm.js building the rows), in the same run as the attach it came from.
 */
function parseAlone(data, lines) {
  const term = freshTerm(lines + 100)
  const start = performance.now()
  return new Promise((resolve) =>
    term.write(data, () => {
      const ms = performance.now() - start
      term.dispose()
      resolve(ms)
    }),
  )
}

/**
 * A screen-first attach (`handle.attach(key, {screenFirst: true})`, what the web viewer does):
 * the first chunk is the screen alone, a later one (reset + whole snapshot) the history. Resolves
 * with when a fresh terminal had parsed each: the screen shown, then the scrollback there too.
 */
function attachScreenFirst(client, key, lines, start) {
  const term = freshTerm(lines + 100)
  const handle = client.attach(key, { screenFirst: true })
  let screen = null
  let chunks = 0
  return new Promise((resolve) => {
    handle.onBytes((data) => {
      // Counted as they arrive: the next chunk may come before this one's parse has finished.
      const first = chunks++ === 0
      // A snapshot chunk starts with the reset (ESC c); the session is idle, so no output comes between.
      const isSnapshot = data[0] === 0x1b && data[1] === 0x63
      term.write(data, () => {
        if (first) {
          if (term.buffer.active.baseY !== 0) throw new Error('the screen-first chunk held scrollback')
          screen = { ms: performance.now() - start, bytes: data.length }
          return
        }
        if (!isSnapshot) return
        if (term.buffer.active.length < lines) throw new Error(`the history held ${term.buffer.active.length} lines`)
        handle.dispose()
        term.dispose()
        resolve({ screenMs: screen.ms, screenBytes: screen.bytes, historyMs: performance.now() - start })
      })
    })
  })
}

/**
 * The attach as a viewer does it on its open live client (what `workspace.attach(key)` does on a
 * tab switch): a new SDK live client each run, connected before the clock starts; the clock runs
 * from attach() until a fresh terminal has parsed the first chunk. `connectMs` is the connection
 * (socket, upgrade, welcome) that came before, and `coldMs` a page load: a new client attaching at
 * once, clock from createLiveClient() (connection, attach and parse).
 */
async function tabulaAttach(daemon, key, lines) {
  const times = []
  const received = []
  const connect = []
  const cold = []
  const screenFirst = []
  const alone = []
  let bytes = 0
  for (let run = 0; run < RUNS; run++) {
    const beforeConnect = performance.now()
    const client = liveClient(daemon)
    await opened(client)
    connect.push(performance.now() - beforeConnect)
    const result = await attachAndApply(client, key, lines, performance.now())
    times.push(result.applied)
    received.push(result.received)
    bytes = result.bytes
    alone.push(await parseAlone(result.data, lines))
    // The same client, screen first (the web viewer's attach).
    screenFirst.push(await attachScreenFirst(client, key, lines, performance.now()))
    await client.close()

    const start = performance.now()
    const coldClient = liveClient(daemon)
    cold.push((await attachAndApply(coldClient, key, lines, start)).applied)
    await coldClient.close()
  }
  return {
    ms: median(times),
    receivedMs: median(received),
    aloneMs: median(alone),
    connectMs: median(connect),
    coldMs: median(cold),
    bytes,
    screenMs: median(screenFirst.map((r) => r.screenMs)),
    historyMs: median(screenFirst.map((r) => r.historyMs)),
    screenBytes: screenFirst[0].screenBytes,
  }
}

function tmux(socket, ...args) {
  const run = spawnSync('tmux', ['-L', socket, ...args], { maxBuffer: 256 * 1024 * 1024 })
  if (run.status !== 0) throw new Error(`tmux ${args[0]}: ${run.stderr}`)
  return run.stdout
}

/** tmux: `capture-pane -p -e` of the whole history, written into the same fresh terminal. */
function tmuxStart(socket, path, history) {
  const conf = join(WORK, 'snap-tmux.conf')
  writeFileSync(conf, `set -g history-limit ${history}\nset -g status off\n`)
  tmux(
    socket,
    '-f',
    conf,
    'new-session',
    '-d',
    '-x',
    String(COLS),
    '-y',
    String(ROWS),
    `cat ${path}; tmux -L ${socket} wait-for -S ${DONE}; exec cat`,
  )
  tmux(socket, 'wait-for', DONE)
}
async function tmuxAttach(socket, lines) {
  const times = []
  let bytes = 0
  for (let run = 0; run < RUNS; run++) {
    const term = freshTerm(lines + 100)
    const start = performance.now()
    const captured = await new Promise((resolve, reject) => {
      const child = spawn('tmux', ['-L', socket, 'capture-pane', '-p', '-e', '-S', '-', '-E', '-'])
      const parts = []
      child.stdout.on('data', (d) => parts.push(d))
      child.on('error', reject)
      child.on('close', () => resolve(Buffer.concat(parts)))
    })
    bytes = captured.length
    await new Promise((resolve) => term.write(captured, resolve))
    times.push(performance.now() - start)
    term.dispose()
  }
  return { ms: median(times), bytes }
}

/**
 * Memory is read twice after the sessions printed: SOON_MS later (what earlier runs reported) and
 * once idle, IDLE_MS later, when the daemon's work after output is done (a checkpoint 1 s after
 * output pauses, a saved screen within 3 s, a thread's idle collection 2 s after its last work
 * and its follow-ups until V8 gives the young generation back: docs/daemon.md, "Memory per
 * session"). The baseline is read idle too, so that garbage of the start is not counted against
 * the sessions, nor its collection for them.
 */
const SOON_MS = 3000
const IDLE_MS = 20_000
async function settleMemory(read) {
  await sleep(SOON_MS)
  const soon = read()
  await sleep(IDLE_MS - SOON_MS)
  return { soon, idle: read() }
}

const fmt = (n, d = 1) => n.toFixed(d)
const MiB = 1024 * 1024

// ── attach at 10,000 lines ────────────────────────────────────────────────────────────────────
const LINES = 10_000
const log = colouredLog(LINES)
const daemon = await startDaemon(LINES)
const session = await daemon.spawn({ command: 'sh', args: ['-c', `cat ${log}; echo ${DONE}; exec cat`] })
// Wait until the whole history is in the daemon's screen (a snapshot shows the marker).
for (;;) {
  const client = createLiveClient({ daemonUrl: daemon.url, token: daemon.token, viewer: { name: 'probe', kind: 'cli' }, WebSocket })
  const text = await new Promise((resolve) => client.attach(session.key).onData(resolve))
  await client.close()
  if (text.includes(DONE)) break
  await sleep(200)
}
const tmuxSocket = `tabula-snap-${process.pid}`
tmuxStart(tmuxSocket, log, LINES)
// Interleaved, so both sides see the same machine.
const ours = []
const theirs = []
for (let round = 0; round < 3; round++) {
  ours.push(await tabulaAttach(daemon, session.key, LINES))
  theirs.push(await tmuxAttach(tmuxSocket, LINES))
}
tmux(tmuxSocket, 'kill-server')
await daemon.close(session.key)
await daemon.stop()
const oursMs = median(ours.map((r) => r.ms))
const theirsMs = median(theirs.map((r) => r.ms))
console.log(`attach → snapshot applied, ${LINES} lines of coloured scrollback at ${COLS}x${ROWS} (median of ${RUNS} x 3 rounds)`)
console.log(
  `  tabula (SDK attach, snapshot ${fmt(ours[0].bytes / 1024, 0)} KiB): ${fmt(oursMs)} ms  [rounds ${ours.map((r) => fmt(r.ms)).join(', ')}]`,
)
console.log(
  `  tmux capture-pane -p -e -S - (${fmt(theirs[0].bytes / 1024, 0)} KiB): ${fmt(theirsMs)} ms  [rounds ${theirs.map((r) => fmt(r.ms)).join(', ')}]`,
)
const receivedMs = median(ours.map((r) => r.receivedMs))
console.log(
  `  of which until the snapshot arrived (daemon: cut, serialize, send; socket): ${fmt(receivedMs)} ms; the viewer's parse ${fmt(oursMs - receivedMs)} ms`,
)
console.log(
  `  the same bytes parsed alone by a fresh terminal (no socket, no daemon), after each attach: ${fmt(median(ours.map((r) => r.aloneMs)))} ms; ` +
    `the attach's time beyond that parse: ${fmt(oursMs - median(ours.map((r) => r.aloneMs)))} ms`,
)
console.log(`  tabula / tmux: ${fmt(oursMs / theirsMs, 2)}x (target: <= 30 ms and <= 1.00x)`)
console.log(
  `  screen first (the web viewer's attach, first chunk ${fmt(ours[0].screenBytes / 1024, 0)} KiB): ` +
    `attach → screen applied ${fmt(median(ours.map((r) => r.screenMs)))} ms, ` +
    `attach → history applied ${fmt(median(ours.map((r) => r.historyMs)))} ms  ` +
    `[rounds ${ours.map((r) => `${fmt(r.screenMs)}/${fmt(r.historyMs)}`).join(', ')}]`,
)
console.log(
  `  before the clock, the new client's connection (socket, upgrade, welcome): ${fmt(median(ours.map((r) => r.connectMs)))} ms; ` +
    `a page load (new client attaching at once, connect + attach + parse): ${fmt(median(ours.map((r) => r.coldMs)))} ms`,
)
console.log(
  `  load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)

// ── memory per idle session with a full 5,000-line scrollback ──────────────────────────────────
const wide = wideLines()
const memDaemon = await startDaemon(5000)
// One warm-up session first, so per-session figures do not carry the first screen's setup.
const warm = await memDaemon.spawn({ command: 'sh', args: ['-c', 'exec cat'] })
await sleep(IDLE_MS)
const before = memDaemon.rss()
const keys = []
for (let i = 0; i < SESSIONS; i++) keys.push((await memDaemon.spawn({ command: 'sh', args: ['-c', `cat ${wide}; exec cat`] })).key)
const after = await settleMemory(() => memDaemon.rss())
for (const key of [warm.key, ...keys]) await memDaemon.close(key)
await memDaemon.stop()

const memSocket = `tabula-snapmem-${process.pid}`
const conf = join(WORK, 'snap-mem.conf')
writeFileSync(conf, 'set -g history-limit 5000\nset -g status off\n')
tmux(memSocket, '-f', conf, 'new-session', '-d', '-x', String(COLS), '-y', String(ROWS), 'exec cat')
const serverPid = Number(String(tmux(memSocket, 'display-message', '-p', '#{pid}')).trim())
await sleep(IDLE_MS)
const tBefore = rssOf(serverPid)
for (let i = 0; i < SESSIONS; i++) tmux(memSocket, 'new-session', '-d', '-x', String(COLS), '-y', String(ROWS), `cat ${wide}; exec cat`)
const tAfter = await settleMemory(() => rssOf(serverPid))
tmux(memSocket, 'kill-server')
const perSession = (read, start) => (read - start) / SESSIONS
const oursMem = perSession(after.idle, before)
const theirsMem = perSession(tAfter.idle, tBefore)
console.log(`memory per idle session, 5,049 lines of 196 characters at ${COLS}x${ROWS}, full 5,000-line scrollback (${SESSIONS} sessions)`)
console.log(
  `  tabula daemon RSS growth: ${fmt(oursMem / MiB, 2)} MiB per session idle (${IDLE_MS / 1000} s after), ${fmt(perSession(after.soon, before) / MiB, 2)} MiB ${SOON_MS / 1000} s after`,
)
console.log(
  `  tmux server RSS growth:   ${fmt(theirsMem / MiB, 2)} MiB per session idle (${IDLE_MS / 1000} s after), ${fmt(perSession(tAfter.soon, tBefore) / MiB, 2)} MiB ${SOON_MS / 1000} s after`,
)
console.log(
  `  tabula / tmux: ${fmt(oursMem / theirsMem, 2)}x idle, ${fmt(perSession(after.soon, before) / perSession(tAfter.soon, tBefore), 2)}x ${SOON_MS / 1000} s after (target: <= 0.50x)`,
)
process.exit(0)
