/**
 * The snapshot cut and the live stream, with every asynchronous step under the test's control:
 * a fake screen host that parses (and answers cuts) only when told, and fake sockets whose
 * writes complete only when told. Any interleaving of PTY reads, end-of-turn flushes, parsing,
 * attaches and socket drains must leave every viewer with exactly the program's output (the
 * snapshot, then live output; after a resync, the new snapshot, then live output), and must
 * never leave the PTY paused once everything has been parsed.
 *
 * This is the unit-level counterpart of the end-to-end "mid-flood" test in channel.test.ts: the
 * suspects for a stalled late viewer (a cut that never answers, output held and never played, a
 * drain that never comes, credit that never returns) all live in this state machine.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { WebSocket } from 'ws'
import { BINARY_SNAPSHOT, decodeBinaryFrame, type ServerFrame } from '@tabula/protocol'
import { Attachment } from '../../daemon/src/live/attachment.js'
import { Mirror } from '../../daemon/src/live/mirror.js'
import type { ScreenEvents, ScreenHost } from '../../daemon/src/screen/screen-host.js'
import type { Snapshot } from '../../daemon/src/screen/screen.js'
import { Viewer } from '../../daemon/src/live/viewer.js'

/**
 * A screen that parses only on demand. Its snapshot is the number of bytes parsed before the cut:
 * the test's output encodes its own offset (see PATTERN), so that number says exactly which
 * bytes an unbounded screen would hold, without copying megabytes per cut.
 */
function heldScreen() {
  let events: ScreenEvents | null = null
  const queue: Array<{ op: 'write'; data: Uint8Array } | { op: 'cut'; ready: (s: Snapshot) => void; screenOnly: boolean }> = []
  let parsed = 0
  const host: ScreenHost = {
    open(_opts, e) {
      events = e
      return {
        // The port must copy: the mirror shares these bytes with the viewers' frames.
        write: (data) => void queue.push({ op: 'write', data }),
        cut: (ready, { screenOnly = false } = {}) => void queue.push({ op: 'cut', ready, screenOnly }),
        resize: () => {},
        dispose: () => void (queue.length = 0),
      }
    },
    close: async () => {},
  }
  return {
    host,
    /** Parses the next `n` messages in order (writes return credit, cuts answer). */
    parse(n: number): boolean {
      let done = 0
      while (done < n && queue.length) {
        const next = queue.shift()!
        if (next.op === 'write') {
          parsed += next.data.length
          events!.parsed(next.data.length)
        } else if (next.screenOnly && parsed > 0) {
          // A screen-only cut of a screen with output (taken as having history to leave out).
          next.ready({ cols: 80, rows: 24, data: `${parsed} screen`, historyLeftOut: 1 })
        } else {
          next.ready({ cols: 80, rows: 24, data: String(parsed) })
        }
        done++
      }
      return done > 0
    },
  }
}

/**
 * A socket whose sends complete only when the test says; decodes what the daemon sent. A binary
 * snapshot frame fills in the `snapshot` of the `attached`/`resync` frame it follows, which must
 * be the message just before it (docs/protocol.md §4).
 */
function heldSocket() {
  const callbacks: Array<() => void> = []
  const frames: Array<ServerFrame | { type: 'output'; ch: number; data: Buffer }> = []
  let awaiting: (ServerFrame & { type: 'attached' | 'resync' }) | null = null
  const socket = {
    OPEN: 1,
    readyState: 1,
    send(payload: string | Buffer, opts: { binary: boolean }, cb: () => void) {
      const head = awaiting
      awaiting = null
      if (opts.binary) {
        const frame = decodeBinaryFrame(payload as Buffer)!
        if (frame.kind === BINARY_SNAPSHOT) {
          if (!head || head.ch !== frame.ch || head.snapshotBytes !== frame.data.length)
            throw new Error('a snapshot frame not right after its head')
          const text = Buffer.from(frame.data).toString('utf8')
          if (!text.startsWith('\x1bc')) throw new Error('a snapshot frame without the reset')
          frames.push({ ...head, snapshotBytes: undefined, snapshot: text.slice(2) } as ServerFrame)
        } else frames.push({ type: 'output', ch: frame.ch, data: Buffer.from(frame.data) })
      } else {
        if (head) throw new Error('the snapshot frame did not follow its head')
        const frame = JSON.parse(payload as string) as ServerFrame
        if ((frame.type === 'attached' || frame.type === 'resync') && frame.snapshotBytes !== undefined) awaiting = frame
        else frames.push(frame)
      }
      callbacks.push(cb)
    },
    close() {},
    terminate() {},
  }
  return {
    socket: socket as unknown as WebSocket,
    frames,
    /** Completes the oldest `n` sends (each completion may send more). */
    complete(n: number): boolean {
      let done = 0
      while (done < n && callbacks.length) {
        callbacks.shift()!()
        done++
      }
      return done > 0
    },
  }
}

/**
 * Replays what one viewer got on `ch` as its terminal would: each snapshot (attached, resync)
 * replaces everything, output appends. Returns how far into the stream the viewer got, or why
 * what it got is not the stream (a gap, a repeat, output before the first snapshot, a screen-only
 * snapshot never followed by a whole one, anything after `detached`).
 */
function replay(
  frames: ReturnType<typeof heldSocket>['frames'],
  ch: number,
): { at: number; resyncs: number; between: number; detached: boolean; wrong: string | null } {
  let at: number | null = null
  let resyncs = 0
  /** The last snapshot was the screen alone: a `history` resync must follow. */
  let screenOnly = false
  /** Output frames between a screen-only snapshot and its history. */
  let between = 0
  let detached = false
  const result = (wrong: string | null) => ({ at: at ?? 0, resyncs, between, detached, wrong })
  for (const frame of frames) {
    if ('ch' in frame && frame.ch === ch && detached) return result(`${frame.type} after detached`)
    if ((frame.type === 'attached' || frame.type === 'resync') && frame.ch === ch) {
      if (frame.type === 'resync' && frame.reason === 'behind') resyncs++
      // (A viewer that fell behind right after the screen gets a whole snapshot as `behind` instead.)
      if (frame.type === 'resync' && frame.reason === 'history' && !screenOnly) return result('a history resync after a whole snapshot')
      if (frame.type === 'attached' && at !== null) return result('a second attached')
      const snapshot = frame.snapshot ?? ''
      at = Number.parseInt(snapshot, 10)
      screenOnly = snapshot.endsWith('screen')
    } else if (frame.type === 'detached' && frame.ch === ch) {
      detached = true
    } else if (frame.type === 'output' && frame.ch === ch) {
      if (screenOnly) between++
      if (at === null) return result('output before the snapshot')
      for (let k = 0; k < frame.data.length; k += MAX_READ) {
        const part = frame.data.subarray(k, k + MAX_READ)
        const from = (at + k) % 95
        if (!part.equals(PATTERN.subarray(from, from + part.length))) {
          return result(`output at stream offset ${at} is not the bytes the program wrote there`)
        }
      }
      at += frame.data.length
    }
  }
  if (screenOnly && !detached) return result('a screen-only snapshot with no history after it')
  return result(null)
}

/** Printable ASCII repeating every 95 bytes; a read at offset o is PATTERN[o % 95 …]. */
const MAX_READ = 1_000_000
const PATTERN = Buffer.from(Array.from({ length: MAX_READ + 95 }, (_, i) => 0x20 + (i % 95)))

type Op =
  | { t: 'read'; size: number }
  | { t: 'burst' }
  | { t: 'turn' }
  | { t: 'parse'; n: number }
  | { t: 'attach'; screenFirst: boolean }
  | { t: 'detach'; viewer: number }
  | { t: 'drain'; viewer: number; n: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  // Reads below MAX_OUTPUT_BATCH_BYTES stay batched in the mirror until a turn ends (or a cut
  // flushes them); a burst of 1 MB reads makes a viewer that is not draining overflow its
  // queue (VIEWER_QUEUE_LIMIT_BYTES behind SEND_WINDOW_BYTES) and resync.
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((size) => ({ t: 'read' as const, size })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_READ }).map((size) => ({ t: 'read' as const, size })) },
  { weight: 1, arbitrary: fc.constant({ t: 'burst' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'turn' as const }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ t: 'parse' as const, n })) },
  { weight: 1, arbitrary: fc.boolean().map((screenFirst) => ({ t: 'attach' as const, screenFirst })) },
  // A screen-first attach (docs/protocol.md, "Screen first") takes two cuts; a detach may come
  // before either is answered, or between them.
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((viewer) => ({ t: 'detach' as const, viewer })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ viewer: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 6 }) })
      .map((d) => ({ t: 'drain' as const, ...d })),
  },
)

describe('the snapshot cut under every interleaving', () => {
  it('gives each viewer the whole stream once (snapshot + live, or resync + live) and leaves the PTY running', () => {
    let resyncsSeen = 0
    let cutsMidFlood = 0
    let outputBetween = 0
    let detachedBetween = 0
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const screen = heldScreen()
        const pty = { paused: false, pause: () => void (pty.paused = true), resume: () => void (pty.paused = false) }
        const mirror = new Mirror({ cols: 80, rows: 24, scrollback: 100, pty, host: screen.host, onTitle: () => {} })
        let offset = 0
        const viewers: Array<{ sock: ReturnType<typeof heldSocket>; attachment: Attachment; detached: boolean }> = []
        const attach = (screenFirst = false) => {
          const sock = heldSocket()
          // Every other viewer takes its snapshots as binary frames (docs/protocol.md §4).
          const binarySnapshot = viewers.length % 2 === 1
          const attachment = new Attachment(new Viewer(`v-${viewers.length}`, sock.socket), 2, 'tab-x', mirror, () => null, {
            binarySnapshot,
            screenFirst,
          })
          attachment.start()
          viewers.push({ sock, attachment, detached: false })
        }
        const read = (size: number) => {
          // Bytes that depend on their stream offset (mod 95): a gap or a repeat shows in the
          // content, and in the final count of bytes each viewer got.
          const data = Buffer.from(PATTERN.subarray(offset % 95, (offset % 95) + size))
          offset += size
          mirror.write(data)
        }
        attach() // a driver from the start
        try {
          for (const step of ops) {
            if (step.t === 'read') read(step.size)
            else if (step.t === 'burst') for (let i = 0; i < 6; i++) read(MAX_READ)
            else if (step.t === 'turn') mirror.flush()
            else if (step.t === 'parse') screen.parse(step.n)
            else if (step.t === 'attach') {
              if (viewers.length < 3) {
                if (offset > 0) cutsMidFlood++
                attach(step.screenFirst)
              }
            } else if (step.t === 'detach') {
              const v = viewers[step.viewer]
              if (v && !v.detached) {
                v.detached = true
                v.attachment.end({ type: 'detached', ch: 2, reason: 'detached' })
              }
            } else viewers[step.viewer]?.sock.complete(step.n)
          }
          // The program stops; let every queue run dry (what a running daemon does by itself).
          for (let guard = 0; ; guard++) {
            expect(guard).toBeLessThan(100_000)
            mirror.flush()
            let progressed = screen.parse(Infinity)
            for (const v of viewers) progressed = v.sock.complete(Infinity) || progressed
            if (!progressed) break
          }
          for (const v of viewers) {
            const seen = replay(v.sock.frames, 2)
            resyncsSeen += seen.resyncs
            outputBetween += seen.between
            expect(seen.wrong).toBe(null)
            expect(seen.detached).toBe(v.detached)
            if (v.detached) {
              const ended = v.sock.frames.findIndex((f) => f.type === 'detached')
              const last = v.sock.frames.slice(0, ended).findLast((f) => f.type === 'attached' || f.type === 'resync')
              if (last && 'snapshot' in last && last.snapshot?.endsWith('screen')) detachedBetween++
            } else expect(seen.at).toBe(offset)
          }
          expect(mirror.backlog).toBe(0)
          expect(pty.paused).toBe(false)
        } finally {
          for (const v of viewers) v.attachment.dispose()
          mirror.dispose()
        }
      }),
      { numRuns: 300 },
    )
    // The property is only worth something if the interesting paths ran.
    expect(resyncsSeen).toBeGreaterThan(0)
    expect(cutsMidFlood).toBeGreaterThan(0)
    // Output went live between a screen-only snapshot and its history, and viewers detached there.
    expect(outputBetween).toBeGreaterThan(0)
    expect(detachedBetween).toBeGreaterThan(0)
  })
})
