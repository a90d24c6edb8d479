/**
 * Flow control and slow viewers: a flood reaches a reading viewer whole while another viewer has
 * stopped reading, and the daemon's memory stays bounded (SPEC §5 "Live channel").
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { ServerFrame } from '@tabula/protocol'
import { removeHome, startTabula, type RunningTabula } from '../helpers/tabula.js'
import { RawViewer, eventually, makeWorkspace, rssOf, spawnSession } from './helpers.js'

/** Lines of `seq` output: about 27 MB through the terminal (digits, CR, LF). */
const FLOOD_LINES = 3_500_000
/** A bound, not a speed: far above what the daemon needs, far below "grows with the flood". */
const RSS_BOUND_BYTES = 400 * 1024 * 1024

let t: RunningTabula
const viewers: RawViewer[] = []

beforeAll(async () => {
  t = await startTabula(['daemon', '--port', '0'])
})

afterAll(async () => {
  for (const v of viewers) v.close()
  await t?.stop()
  if (t) removeHome(t.home)
})

/** Checks a stream of `seq` output line by line without keeping it: every number, in order. */
function seqChecker() {
  const decoder = new TextDecoder()
  let partial = ''
  const state = { next: 1, wrong: [] as string[], done: false, bytes: 0 }
  return {
    state,
    feed(data: Uint8Array) {
      state.bytes += data.length
      const lines = (partial + decoder.decode(data, { stream: true })).split('\n')
      partial = lines.pop()!
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '')
        if (line === 'flood-done') state.done = true
        else if (/^\d+$/.test(line)) {
          if (Number(line) !== state.next && state.wrong.length < 5) state.wrong.push(`${line} where ${state.next} was due`)
          state.next = Number(line) + 1
        }
      }
    },
  }
}

it('a flood reaches the reading viewer byte for byte while another has stalled, in bounded memory', async () => {
  const workspace = await makeWorkspace(t)
  const session = await spawnSession(t, workspace, {
    command: 'sh',
    args: ['-c', `stty -echo; read go; seq 1 ${FLOOD_LINES}; echo flood-done; exec cat`],
  })

  const reader = await RawViewer.open(t.daemonUrl, t.token)
  const stalled = await RawViewer.open(t.daemonUrl, t.token)
  viewers.push(reader, stalled)
  reader.keepRaw = false
  const check = seqChecker()
  reader.onOutput = (ch, data) => ch === 1 && check.feed(data)
  await reader.attach(1, session.key)
  await stalled.attach(1, session.key)
  // Stop reading at the TCP level: the kernel buffers fill, then the daemon's queue for it.
  ;(stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause()

  let peak = 0
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(t.proc.pid!))), 50)
  try {
    reader.send({ type: 'input', ch: 1, data: 'go\r' })
    await eventually(() => check.state.done, 'the reader to see the whole flood', 120_000)
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, rssOf(t.proc.pid!))

  expect(check.state.wrong).toEqual([])
  expect(check.state.next).toBe(FLOOD_LINES + 1)
  expect(peak).toBeLessThan(RSS_BOUND_BYTES)

  // The stalled viewer overflowed: when it reads again it gets a fresh snapshot, not the backlog.
  const from = stalled.mark
  ;(stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume()
  const resync = await stalled.next<ServerFrame & { type: 'resync' }>((f) => f.type === 'resync' && f.ch === 1, from, 60_000)
  expect(resync.snapshot).toContain('flood-done')
  // Far fewer bytes than the flood reached it: what it missed was dropped, not queued.
  expect(stalled.channel(1).bytes).toBeLessThan(check.state.bytes / 2)
  await stalled.waitForScreen(1, 'flood-done')
}, 180_000)
