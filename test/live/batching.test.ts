/**
 * How PTY reads become chunks (one parser message, one frame per viewer each): a flood's long
 * reads are held for more, a short read (an echo, the end of a burst) goes out at the end of its
 * turn, and a batch never passes MAX_OUTPUT_BATCH_BYTES. The timers are faked, so that "its turn"
 * and "the hold" are steps of the test rather than races against the machine's load; then a
 * flood through the real daemon, read by a raw socket.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LONG_READ_BYTES, MAX_OUTPUT_BATCH_BYTES, Mirror, OUTPUT_HOLD_MS, type OutputChunk } from '../../daemon/src/live/mirror.js'
import type { ScreenHost } from '../../daemon/src/screen/screen-host.js'
import { until } from '../helpers/wait.js'
import { RawViewer, makeWorkspace, sharedDaemon, spawnSession } from './helpers.js'

/** What a Linux PTY hands out per read under a flood. */
const FULL_READ = 4095

function setup() {
  const screen: number[] = []
  const host: ScreenHost = {
    open: () => ({ write: (data) => void screen.push(data.length), cut: () => {}, resize: () => {}, dispose: () => {} }),
    close: async () => {},
  }
  const mirror = new Mirror({ cols: 80, rows: 24, scrollback: 100, pty: { pause: () => {}, resume: () => {} }, host, onTitle: () => {} })
  const chunks: OutputChunk[] = []
  mirror.subscribe((chunk) => chunks.push(chunk))
  const read = (bytes: number, fill = 0x61) => mirror.write(new Uint8Array(bytes).fill(fill))
  /** The end of this turn of the event loop: immediates run, timers that are not due yet do not. */
  const endOfTurn = () => vi.advanceTimersByTime(0)
  return { mirror, chunks, screen, read, endOfTurn, sizes: () => chunks.map((c) => c.size) }
}

describe('batching PTY reads into chunks', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] }))
  afterEach(() => void vi.useRealTimers())

  it('holds a flood of full reads, one per turn, and sends them as one chunk after OUTPUT_HOLD_MS', () => {
    const { chunks, screen, read, endOfTurn, sizes, mirror } = setup()
    for (let turn = 0; turn < 5; turn++) {
      read(FULL_READ)
      endOfTurn()
    }
    expect(chunks).toEqual([])
    vi.advanceTimersByTime(OUTPUT_HOLD_MS)
    expect(sizes()).toEqual([5 * FULL_READ])
    // The screen gets the same chunk as the viewers.
    expect(screen).toEqual([5 * FULL_READ])
    mirror.dispose()
  })

  it('sends a short read at the end of its turn: an echo is not held', () => {
    const { read, endOfTurn, sizes, mirror } = setup()
    read(1)
    endOfTurn()
    expect(sizes()).toEqual([1])
    read(LONG_READ_BYTES - 1)
    endOfTurn()
    expect(sizes()).toEqual([1, LONG_READ_BYTES - 1])
    mirror.dispose()
  })

  it('ends a held batch at the first short read, without waiting for the hold', () => {
    const { read, endOfTurn, sizes, mirror } = setup()
    read(FULL_READ)
    endOfTurn()
    read(FULL_READ)
    endOfTurn()
    expect(sizes()).toEqual([])
    read(200) // the tail of the burst
    endOfTurn()
    expect(sizes()).toEqual([2 * FULL_READ + 200])
    // Nothing is left for the hold timer to send twice.
    vi.advanceTimersByTime(10 * OUTPUT_HOLD_MS)
    expect(sizes()).toEqual([2 * FULL_READ + 200])
    mirror.dispose()
  })

  it('sends at once past MAX_OUTPUT_BATCH_BYTES, so a batch stays bounded however fast the reads come', () => {
    const { read, sizes, mirror } = setup()
    const reads = Math.ceil(MAX_OUTPUT_BATCH_BYTES / FULL_READ)
    for (let i = 0; i < reads; i++) read(FULL_READ)
    expect(sizes()).toEqual([reads * FULL_READ])
    expect(reads * FULL_READ - FULL_READ).toBeLessThan(MAX_OUTPUT_BATCH_BYTES)
    mirror.dispose()
  })

  it('flushes what is held before anything ordered after it (a cut), and a disposed mirror sends nothing', () => {
    const { mirror, read, sizes } = setup()
    read(FULL_READ)
    mirror.flush()
    expect(sizes()).toEqual([FULL_READ])
    read(FULL_READ)
    mirror.dispose()
    vi.advanceTimersByTime(10 * OUTPUT_HOLD_MS)
    expect(sizes()).toEqual([FULL_READ])
  })
})

describe('through the daemon', () => {
  const shared = sharedDaemon()

  it('a flood reaches a viewer whole, in frames that each carry several PTY reads', async () => {
    const t = shared.t
    const workspace = await makeWorkspace(t)
    const lines = 1_000_000 // about 6.9 MB of `seq`: some 1,700 full reads of a Linux PTY
    const session = await spawnSession(t, workspace, {
      command: 'sh',
      args: ['-c', `stty -echo; read go; seq 1 ${lines}; echo flood-done; exec cat`],
    })
    const viewer = await RawViewer.open(t.daemonUrl, t.token)
    shared.viewers.push(viewer)
    viewer.keepRaw = false
    let frames = 0
    let bytes = 0
    let tail = ''
    viewer.onOutput = (ch, data) => {
      if (ch !== 1) return
      frames++
      bytes += data.length
      tail = (tail + Buffer.from(data.subarray(Math.max(0, data.length - 32))).toString('latin1')).slice(-32)
    }
    await viewer.attach(1, session.key)
    viewer.send({ type: 'input', ch: 1, data: 'go\r' })
    await until('the end of the flood', () => tail.includes('flood-done'), 120_000)
    expect(viewer.frames.filter((f) => f.type === 'resync')).toEqual([])
    // Every byte: the numbers, a CR added to each LF by the terminal, and the end marker.
    let expected = 'flood-done\r\n'.length
    for (let n = 1; n <= lines; n++) expected += String(n).length + 2
    expect(bytes).toBe(expected)
    // One frame per read would average under 4,095 bytes (a Linux PTY's largest read).
    expect(bytes / frames).toBeGreaterThan(2 * FULL_READ)
  }, 180_000)
})
