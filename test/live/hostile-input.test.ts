/**
 * Input a program does not read (docs/daemon.md "Hostile output"): it reaches the terminal at a
 * bounded pace, a flood past the bound is refused, and the socket that floods is not read for a
 * while instead of every frame being read and refused. Through the real daemon, its PTYs and
 * real sockets; what is asserted is what a viewer sees: the terminal's echo, error frames, pongs.
 */
import { beforeAll, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INPUT_BURST_BYTES, INPUT_RATE_BYTES_PER_SEC, MAX_QUEUED_INPUT_BYTES, type ServerFrame } from '@tabula/protocol'
import { INPUT_REFUSED_PAUSE_MS } from '../../daemon/src/live/input-bound.js'
import type { RunningTabula } from '../helpers/tabula.js'
import { RawViewer, getSession, makeWorkspace, spawnSession, sharedDaemon } from './helpers.js'

const shared = sharedDaemon()
const viewers = shared.viewers
let t: RunningTabula
beforeAll(() => void (t = shared.t))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const refusals = (viewer: RawViewer, from: number) =>
  viewer.frames.slice(from).filter((f) => f.type === 'error' && f.code === 'input_queue_full').length

it('a program in line-editing mode that never reads: the terminal takes input at the pace, the rest is refused', async () => {
  // The terminal's defaults (canonical mode, echo): the kernel takes whatever it is given, echoes
  // it and throws away what does not fit a line, so without pacing it never pushes back.
  const workspace = await makeWorkspace(t)
  const session = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'echo not-reading; exec sleep 1000'] })
  const viewer = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(viewer)
  await viewer.attach(1, session.key)
  await viewer.waitForScreen(1, 'not-reading')
  viewer.keepRaw = false
  const before = viewer.channel(1).bytes
  const from = viewer.mark
  const chunk = 'y'.repeat(64 * 1024)
  const started = performance.now()
  // 1.6 MB/s offered for two seconds, each frame only once the socket has taken the last.
  while (performance.now() - started < 2_000) {
    if (viewer.socket.bufferedAmount < 256 * 1024) viewer.send({ type: 'input', ch: 1, data: chunk })
    await sleep(40)
  }
  const elapsed = (performance.now() - started) / 1000
  // What the terminal took, it echoed (one byte for each): at most the burst and the rate since.
  const echoed = viewer.channel(1).bytes - before
  expect(echoed).toBeGreaterThan(0)
  expect(echoed).toBeLessThanOrEqual(INPUT_BURST_BYTES + INPUT_RATE_BYTES_PER_SEC * elapsed + 16 * 1024)
  // The rest waited in the daemon up to the bound, and past it was refused, with a reason.
  expect(refusals(viewer, from)).toBeGreaterThan(0)
  expect(viewer.frames.slice(from).find((f) => f.type === 'error')).toMatchObject({
    ch: 1,
    message: expect.stringMatching(/is not reading its input/),
  })
  expect(viewer.isClosed).toBe(false)
  expect((await getSession(t, workspace, session.key))!.status).toBe('running')
})

it('a paste larger than the burst reaches a program that reads it: whole, in order, nothing refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabula-paste-'))
  try {
    const out = join(dir, 'pasted.txt')
    const lines: string[] = []
    for (let i = 0, size = 0; size < INPUT_BURST_BYTES * 2.5; i++) {
      lines.push(`${String(i).padStart(7, '0')} pasted text, every line different ${'abcdefghij'.repeat(i % 7)}\n`)
      size += lines[i]!.length
    }
    const paste = lines.join('')
    expect(paste.length).toBeLessThan(MAX_QUEUED_INPUT_BYTES)
    const workspace = await makeWorkspace(t)
    const session = await spawnSession(t, workspace, {
      command: 'sh',
      args: ['-c', `stty -echo -icanon; echo reading; head -c ${paste.length} > ${out}; echo got-all`],
    })
    const viewer = await RawViewer.open(t.daemonUrl, t.token)
    viewers.push(viewer)
    await viewer.attach(1, session.key)
    await viewer.waitForScreen(1, 'reading')
    const from = viewer.mark
    // All at once, in frames of 32 KB, as a client pasting a big clipboard would.
    for (let at = 0; at < paste.length; at += 32 * 1024) viewer.send({ type: 'input', ch: 1, data: paste.slice(at, at + 32 * 1024) })
    await viewer.waitForScreen(1, 'got-all', 30_000)
    expect(readFileSync(out, 'utf8') === paste).toBe(true)
    expect(viewer.frames.slice(from).filter((f: ServerFrame) => f.type === 'error')).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

it('a socket whose input is refused is not read for a while; other sockets are served meanwhile, and it is read again', async () => {
  const workspace = await makeWorkspace(t)
  // No line editing: the terminal's buffer fills, and input waits in the daemon up to the bound.
  const stuck = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'stty -echo -icanon; echo not-reading; exec sleep 1000'] })
  const other = await spawnSession(t, workspace, { command: 'sh', args: ['-c', 'stty -echo; echo other-ready; exec cat'] })
  const flooder = await RawViewer.open(t.daemonUrl, t.token)
  const bystander = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(flooder, bystander)
  await flooder.attach(1, stuck.key)
  await flooder.waitForScreen(1, 'not-reading')
  await bystander.attach(1, other.key)
  await bystander.waitForScreen(1, 'other-ready')

  const chunk = 'y'.repeat(256 * 1024)
  const from = flooder.mark
  const frames = MAX_QUEUED_INPUT_BYTES / chunk.length + 4
  for (let i = 0; i < frames; i++) flooder.send({ type: 'input', ch: 1, data: chunk })
  await flooder.next((f) => f.type === 'error' && f.code === 'input_queue_full', from)
  // The daemon stopped reading this socket: a ping sent now is answered only once it reads again.
  const pingedAt = performance.now()
  flooder.send({ type: 'ping', id: 4242 })
  // Meanwhile another socket is served as usual.
  bystander.send({ type: 'input', ch: 1, data: 'still-served\r' })
  await bystander.waitForScreen(1, 'still-served')
  const pong = await flooder.next((f) => f.type === 'pong' && f.id === 4242, from, 60_000)
  expect(pong).toBeTruthy()
  // The frames sent before the ping were read first, each refusal holding the socket a while (the
  // program never reads, so the whole pause): the daemon did not read and refuse them at once.
  expect(performance.now() - pingedAt).toBeGreaterThanOrEqual(INPUT_REFUSED_PAUSE_MS * 0.9)
  expect(refusals(flooder, from)).toBeGreaterThan(0)
  expect(flooder.isClosed).toBe(false)
  expect((await getSession(t, workspace, stuck.key))!.status).toBe('running')
}, 90_000)
