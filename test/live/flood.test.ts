/**
 * Flow control and slow viewers: a flood reaches a reading viewer whole while another viewer has
 * stopped reading, and the daemon's memory stays bounded (docs/protocol.md §5).
 */
import { soakable } from '../helpers/soak.js'
import { until } from '../helpers/wait.js'
import { beforeAll, expect, it } from 'vitest'
import type { RunningTabula } from '../helpers/tabula.js'
import { RawViewer, closeSession, makeWorkspace, rssOf, spawnSession, sharedDaemon, type ResyncFrame } from './helpers.js'

/**
 * Lines of `seq` output: about 140 MB through the terminal (digits, CR, LF), so the flood is
 * well over the growth bound below and over 30 times the flow-control window: a daemon that
 * buffered what its parser had not caught up with would grow past the bound.
 */
const FLOOD_LINES = soakable(15_000_000, 150_000_000)
/**
 * A bound on the daemon's RSS growth during the flood, not a speed. What the daemon may hold is
 * the parser's backlog (FLOW_HIGH_WATERMARK, 4 MiB, plus a batch), the stalled viewer's window
 * and queue (1 + 4 MiB) and allocator slack; "grows with the flood" would pass 100 MiB.
 */
const RSS_GROWTH_BOUND_BYTES = 100 * 1024 * 1024
/**
 * Lines of a first, smaller flood before the baseline is taken: the first megabytes grow the
 * parser's heaps to their working size once (measured: ~90 MiB, whatever the flood's size), and
 * a daemon runs for days, so growth is measured from a warmed-up daemon.
 */
const WARMUP_LINES = 2_000_000

const shared = sharedDaemon()
const viewers = shared.viewers
let t: RunningTabula
beforeAll(() => void (t = shared.t))

/**
 * Checks a stream of `seq` output line by line without keeping it: every number, in order. It
 * works on bytes, without decoding or splitting strings: the reader must keep up with the flood
 * (the daemon's screen skips most of it, so the PTY runs at full speed), or it is a slow viewer
 * and is resynced, as the daemon is meant to do, and this test would measure its own checker.
 */
function seqChecker() {
  const state = { next: 1, wrong: [] as string[], done: false, bytes: 0 }
  /** The line so far: its number if it is all digits, and its first other characters. */
  let value = 0
  let digits = 0
  let other = ''
  return {
    state,
    feed(data: Uint8Array) {
      state.bytes += data.length
      for (let i = 0; i < data.length; i++) {
        const byte = data[i]!
        if (byte >= 0x30 && byte <= 0x39) {
          value = value * 10 + byte - 0x30
          digits++
        } else if (byte === 0x0a) {
          if (other === '' && digits > 0) {
            if (value !== state.next && state.wrong.length < 5) state.wrong.push(`${value} where ${state.next} was due`)
            state.next = value + 1
          } else if (other === 'flood-done' && digits === 0) state.done = true
          value = 0
          digits = 0
          other = ''
        } else if (byte !== 0x0d && other.length < 16) other += String.fromCharCode(byte)
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
  // Its resync comes as a binary snapshot frame, the way the SDK asks for it.
  stalled.binarySnapshot = true
  viewers.push(reader, stalled)
  reader.keepRaw = false
  const check = seqChecker()
  reader.onOutput = (ch, data) => ch === 1 && check.feed(data)
  await reader.attach(1, session.key)
  await stalled.attach(1, session.key)
  // Stop reading at the TCP level: the kernel buffers fill, then the daemon's queue for it.
  ;(stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause()

  const warm = await spawnSession(t, workspace, { command: 'sh', args: ['-c', `seq 1 ${WARMUP_LINES}; echo warm-done; exec cat`] })
  let warmed = ''
  reader.onOutput = (ch, data) => {
    if (ch === 1) check.feed(data)
    else warmed = (warmed + new TextDecoder().decode(data)).slice(-64)
  }
  await reader.attach(2, warm.key)
  await until('the warm-up flood', () => warmed.includes('warm-done'), 120_000)
  expect(await closeSession(t, workspace, warm.key)).toBe(200)

  const baseline = rssOf(t.proc.pid!)
  let peak = baseline
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(t.proc.pid!))), 50)
  try {
    reader.send({ type: 'input', ch: 1, data: 'go\r' })
    // Stop as soon as the bound is broken (a daemon without flow control may never finish: its
    // reader falls behind and is resynced or cut), or the reader is gone.
    await until(
      'the reader to see the whole flood',
      () => check.state.done || peak - baseline >= RSS_GROWTH_BOUND_BYTES || reader.isClosed,
      240_000,
    )
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, rssOf(t.proc.pid!))
  console.log(
    `flood: ${(check.state.bytes / 1e6).toFixed(0)} MB, daemon RSS ${(baseline / 2 ** 20).toFixed(0)} MiB before, peak growth ${((peak - baseline) / 2 ** 20).toFixed(0)} MiB`,
  )

  expect(peak - baseline).toBeLessThan(RSS_GROWTH_BOUND_BYTES)
  expect(reader.isClosed).toBe(false)
  expect(
    reader.frames.filter((f) => f.type === 'resync'),
    'the reader fell behind the flood and was resynced',
  ).toEqual([])
  expect(check.state.done).toBe(true)
  expect(check.state.wrong).toEqual([])
  expect(check.state.next).toBe(FLOOD_LINES + 1)

  // The stalled viewer overflowed: when it reads again it gets a fresh snapshot, not the backlog.
  const from = stalled.mark
  ;(stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume()
  const resync = await stalled.next<ResyncFrame>((f) => f.type === 'resync' && f.ch === 1, from, 60_000)
  expect(resync.snapshot).toContain('flood-done')
  // The authoritative screen lost nothing: its numbered lines run unbroken up to the last one.
  const numbers = resync.snapshot
    .split(/\r?\n/)
    .map((line) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number)
  expect(numbers.length).toBeGreaterThan(1000) // the default scrollback's worth
  expect(numbers.at(-1)).toBe(FLOOD_LINES)
  const gaps = numbers.filter((n, i) => i > 0 && n !== numbers[i - 1]! + 1).slice(0, 5)
  expect(gaps).toEqual([])
  // Far fewer bytes than the flood reached it: what it missed was dropped, not queued.
  expect(stalled.channel(1).bytes).toBeLessThan(check.state.bytes / 2)
  await stalled.waitForScreen(1, 'flood-done')
}, 300_000)
