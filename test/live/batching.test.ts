/**
 * How PTY reads become chunks (one parser message, one frame per viewer each): a flood's long
 * reads are held for more, a short read (an echo, the end of a burst) goes out at the end of its
 * turn, and a batch never passes MAX_OUTPUT_BATCH_BYTES. The timers are faked, so that "its turn"
 * and "the hold" are steps of the test rather than races against the machine's load.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LONG_READ_BYTES, MAX_OUTPUT_BATCH_BYTES, Mirror, OUTPUT_HOLD_MS, type OutputChunk } from '../../daemon/src/live/mirror.js'
import type { ScreenHost } from '../../daemon/src/screen/screen-host.js'

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
