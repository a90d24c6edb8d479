/**
 * Flow control in the mirror (docs/protocol.md §5), with the parser under the test's control: a
 * fake screen host that parses only when told, and a fake PTY that records pause and resume.
 */
import { describe, expect, it } from 'vitest'
import { FLOW_HIGH_WATERMARK, FLOW_LOW_WATERMARK, MAX_OUTPUT_BATCH_BYTES, Mirror } from '../../daemon/src/live/mirror.js'
import type { ScreenEvents, ScreenHost } from '../../daemon/src/screen/screen-host.js'

/** A PTY read as node-pty delivers them under a flood (any size works; this one is typical). */
const READ_BYTES = 64 * 1024

/** A screen host whose parser runs only when the test says so. */
function heldParser() {
  let events: ScreenEvents | null = null
  /** Sizes of the chunks the screen has received and not yet "parsed", oldest first. */
  const received: number[] = []
  const host: ScreenHost = {
    open(_opts, e) {
      events = e
      return {
        write: (data) => void received.push(data.length),
        cut: () => {},
        resize: () => {},
        dispose: () => {},
      }
    },
    close: async () => {},
  }
  return {
    host,
    received,
    /** Parses exactly `bytes` of what was received, oldest first (all of it for Infinity). */
    parse(bytes: number): void {
      let left = bytes
      while (left > 0 && received.length) {
        const size = Math.min(left, received[0]!)
        received[0]! -= size
        if (received[0] === 0) received.shift()
        left -= size
        events!.parsed(size)
      }
    },
    get receivedBytes() {
      return received.reduce((a, b) => a + b, 0)
    },
  }
}

function fakePty() {
  const calls: Array<'pause' | 'resume'> = []
  return { calls, pause: () => void calls.push('pause'), resume: () => void calls.push('resume') }
}

function setup() {
  const parser = heldParser()
  const pty = fakePty()
  const mirror = new Mirror({ cols: 80, rows: 24, scrollback: 100, pty, host: parser.host, onTitle: () => {} })
  /** Feeds `bytes` of output in PTY-sized reads, as the session map would. */
  const read = (bytes: number) => {
    for (let left = bytes; left > 0; left -= READ_BYTES) mirror.write(new Uint8Array(Math.min(READ_BYTES, left)).fill(0x61))
  }
  return { parser, pty, mirror, read }
}

describe('flow control', () => {
  it('pauses the PTY past the high watermark while parsing is withheld, and resumes below the low one', () => {
    const { parser, pty, mirror, read } = setup()
    read(FLOW_HIGH_WATERMARK)
    expect(pty.calls).toEqual([]) // at the watermark, not past it
    read(1)
    expect(pty.calls).toEqual(['pause'])

    // More reads already in flight when the pause took effect do not pause again.
    read(READ_BYTES)
    expect(pty.calls).toEqual(['pause'])

    // Parse down to exactly the low watermark: still paused (resume only below it).
    mirror.flush()
    parser.parse(mirror.backlog - FLOW_LOW_WATERMARK)
    expect(mirror.backlog).toBeGreaterThanOrEqual(FLOW_LOW_WATERMARK)
    expect(pty.calls).toEqual(['pause'])
    parser.parse(1)
    expect(mirror.backlog).toBeLessThan(FLOW_LOW_WATERMARK)
    expect(pty.calls).toEqual(['pause', 'resume'])
    mirror.dispose()
  })

  it('counts credit on parse, not on read: handing the bytes to the screen returns nothing', () => {
    const { parser, pty, mirror, read } = setup()
    read(FLOW_HIGH_WATERMARK + READ_BYTES)
    expect(pty.calls).toEqual(['pause'])
    // Every byte has been read and handed to the screen (and to viewers), none parsed yet.
    mirror.flush()
    expect(parser.receivedBytes).toBe(FLOW_HIGH_WATERMARK + READ_BYTES)
    expect(mirror.backlog).toBe(FLOW_HIGH_WATERMARK + READ_BYTES)
    expect(pty.calls).toEqual(['pause'])

    // Parsing all of it returns all the credit, and the PTY runs again; a new flood pauses again.
    parser.parse(Infinity)
    expect(mirror.backlog).toBe(0)
    expect(pty.calls).toEqual(['pause', 'resume'])
    read(FLOW_HIGH_WATERMARK + 1)
    expect(pty.calls).toEqual(['pause', 'resume', 'pause'])
    mirror.dispose()
    // A disposed mirror leaves no PTY paused behind it.
    expect(pty.calls).toEqual(['pause', 'resume', 'pause', 'resume'])
  })

  it("keeps a running parser's PTY unpaused: a backlog that stays under the high watermark never pauses", () => {
    const { parser, pty, mirror, read } = setup()
    for (let i = 0; i < 64; i++) {
      read(MAX_OUTPUT_BATCH_BYTES)
      mirror.flush()
      parser.parse(MAX_OUTPUT_BATCH_BYTES)
    }
    expect(pty.calls).toEqual([])
    expect(mirror.backlog).toBe(0)
    mirror.dispose()
  })
})
