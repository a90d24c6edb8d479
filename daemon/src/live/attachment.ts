/**
 * One viewer's view of one terminal (a channel `ch` on its socket): the snapshot at attach, then
 * live output; on overflow, a dropped backlog and a fresh snapshot (resync). A screen-first
 * attach gets the screen alone first, then the whole snapshot as a resync (docs/protocol.md,
 * "Screen first").
 */
import type { ServerFrame } from '@tabula/protocol'
import { OutputChunk, type Mirror, type Snapshot } from './mirror.js'
import { snapshotPayloadBytes, type Viewer } from './viewer.js'
import { withSharedRows } from '../screen/history.js'

type State =
  /** Waiting for the snapshot cut: output and events are held, in order, until it is sent. */
  | 'cutting'
  | 'live'
  /** Fell behind: output is dropped until the viewer drains, then a resync cut follows. */
  | 'stale'

/**
 * What the cut under way is for: the attach's own snapshot, the whole one after a screen-first
 * attach's screen (`history`), or a fresh one for a viewer that fell behind (`behind`).
 */
type CutFor = 'attach' | 'history' | 'behind'

/** How the viewer asked to attach (the `attach` frame's options, docs/protocol.md §2). */
export interface AttachOptions {
  /** Snapshots go in a binary frame after `attached`/`resync`, not as JSON in it. */
  binarySnapshot?: boolean
  /** The screen without its scrollback first, then the whole snapshot as a `resync` (`history`). */
  screenFirst?: boolean
}

export class Attachment {
  private state: State = 'cutting'
  private cutFor: CutFor = 'attach'
  private held: Array<OutputChunk | ServerFrame> = []
  private stopOutput: (() => void) | null = null
  private stopDrain: (() => void) | null = null
  private disposed = false

  constructor(
    readonly viewer: Viewer,
    readonly ch: number,
    readonly key: string,
    private readonly mirror: Mirror,
    /** The session's current driver, read when the snapshot is sent. */
    private readonly activeViewer: () => string | null,
    private readonly how: AttachOptions = {},
  ) {}

  /** Subscribes and asks for the snapshot; `after` frames follow the `attached` frame. */
  start(after: ServerFrame[] = []): void {
    this.stopOutput = this.mirror.subscribe((chunk) => this.output(chunk))
    this.cut(
      'attach',
      (snap) => {
        const head = {
          type: 'attached',
          ch: this.ch,
          key: this.key,
          cols: snap.cols,
          rows: snap.rows,
          activeViewer: this.activeViewer(),
        } as const
        this.sendWithSnapshot(head, snap)
        for (const frame of after) this.viewer.send(frame)
      },
      this.how.screenFirst === true,
    )
  }

  /** An event about this terminal (size, exit), kept in order with its output. */
  control(frame: ServerFrame): void {
    if (this.disposed) return
    if (this.state === 'cutting') this.held.push(frame)
    else this.viewer.send(frame)
  }

  /**
   * The attachment is over (a detach, or its session closed): `last` (its `detached` frame) is
   * the last thing the viewer gets on this channel, also while a cut is under way, which is then
   * never sent. Output held for the history cut of a screen-first attach continues the screen the
   * viewer already shows, so it goes first, as it would have after the cut; output held for any
   * other cut has no snapshot under it and is dropped.
   */
  end(last: ServerFrame): void {
    if (this.disposed) return
    if (this.state === 'cutting') {
      const held = this.held
      this.held = []
      this.state = 'live'
      if (this.cutFor === 'history') this.play(held, 0)
    }
    this.viewer.send(last)
    this.dispose()
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.stopOutput?.()
    this.stopDrain?.()
    this.held = []
  }

  private output(chunk: OutputChunk): void {
    if (this.disposed) return
    if (this.state === 'cutting') {
      this.held.push(chunk)
    } else if (this.state === 'live' && !this.viewer.sendOutput(this.ch, chunk)) {
      this.fallBehind()
    }
  }

  private fallBehind(): void {
    this.state = 'stale'
    this.viewer.dropOutput(this.ch)
    this.whenDrained(() => this.cut('behind', (snap) => this.sendWithSnapshot(this.resyncHead(snap, 'behind'), snap)))
  }

  /**
   * Runs `then` once the viewer has taken what was queued for it (Viewer.onDrain), unless the
   * attachment ended first. Replaces a wait already under way (the history's, when the viewer
   * falls behind before it: the resync it gets is whole).
   */
  private whenDrained(then: () => void): void {
    this.stopDrain?.()
    this.stopDrain = this.viewer.onDrain(() => {
      this.stopDrain?.()
      this.stopDrain = null
      if (!this.disposed) then()
    })
  }

  private resyncHead(snap: Snapshot, reason: 'behind' | 'history') {
    return { type: 'resync', ch: this.ch, cols: snap.cols, rows: snap.rows, reason } as const
  }

  /** An `attached` or `resync` frame with its snapshot: inside it as JSON, or in the binary frame right after it. */
  private sendWithSnapshot(
    head: Omit<Extract<ServerFrame, { type: 'attached' }>, 'snapshot'> | Omit<Extract<ServerFrame, { type: 'resync' }>, 'snapshot'>,
    snap: Snapshot,
  ): void {
    if (!this.how.binarySnapshot)
      return this.viewer.send({ ...head, snapshot: withSharedRows(snap.data, snap.stored ?? null) } as ServerFrame)
    this.viewer.send({ ...head, snapshotBytes: snapshotPayloadBytes(snap) } as ServerFrame)
    this.viewer.sendSnapshot(this.ch, snap)
  }

  private cut(purpose: CutFor, send: (snap: Snapshot) => void, screenOnly = false): void {
    // Output the mirror still batches lies before the cut: it must reach this attachment (and be
    // dropped while stale) before output starts being held for after the snapshot.
    this.mirror.flush()
    this.state = 'cutting'
    this.cutFor = purpose
    this.mirror.cut(
      (snap) => {
        if (this.disposed) return
        send(snap)
        this.state = 'live'
        const held = this.held
        this.held = []
        this.play(held, snap.covered ?? 0)
        // The screen went out without its scrollback: the whole snapshot follows, cut once the
        // viewer has taken the screen and whatever was queued before it (screens of terminals
        // attached at the same moment, as after a reconnect, are not held up behind it), so
        // output sent meanwhile lies between the two and the viewer writing all of it in order
        // ends where a plain attach does. A viewer that falls behind meanwhile gets a whole one
        // anyway (docs/protocol.md, "Screen first").
        if (snap.historyLeftOut && this.state === 'live') {
          this.whenDrained(() => {
            if (this.state === 'live') this.cut('history', (whole) => this.sendWithSnapshot(this.resyncHead(whole, 'history'), whole))
          })
        }
      },
      // A binary snapshot is written as bytes: its stored rows need no string (Snapshot.stored).
      { screenOnly, shareRows: this.how.binarySnapshot === true },
    )
  }

  /**
   * Output and events held during a cut, in order. The snapshot may already hold the first
   * `covered` bytes after the cut (the end of an escape sequence the cut fell in, see
   * CUT_SETTLE_MS): they are not sent again.
   */
  private play(held: Array<OutputChunk | ServerFrame>, covered: number): void {
    for (const item of held) {
      if (!(item instanceof OutputChunk)) this.control(item)
      else if (covered >= item.size) covered -= item.size
      else if (covered > 0) {
        this.output(new OutputChunk([item.bytes.subarray(covered)], item.size - covered))
        covered = 0
      } else this.output(item)
    }
  }
}
