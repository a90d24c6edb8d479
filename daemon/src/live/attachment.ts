/**
 * One viewer's view of one terminal (a channel `ch` on its socket): the snapshot at attach, then
 * live output; on overflow, a dropped backlog and a fresh snapshot (resync).
 */
import type { ServerFrame } from '@tabula/protocol'
import { OutputChunk, type Mirror, type Snapshot } from './mirror.js'
import { snapshotPayloadBytes, type Viewer } from './viewer.js'

type State =
  /** Waiting for the snapshot cut: output and events are held, in order, until it is sent. */
  | 'cutting'
  | 'live'
  /** Fell behind: output is dropped until the viewer drains, then a resync cut follows. */
  | 'stale'

export class Attachment {
  private state: State = 'cutting'
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
    /** Snapshots go in a binary frame after `attached`/`resync` (the attach asked for it), not as JSON in it. */
    private readonly binarySnapshot = false,
  ) {}

  /** Subscribes and asks for the snapshot; `after` frames follow the `attached` frame. */
  start(after: ServerFrame[] = []): void {
    this.stopOutput = this.mirror.subscribe((chunk) => this.output(chunk))
    this.cut((snap) => {
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
    })
  }

  /** An event about this terminal (size, exit, detached), kept in order with its output. */
  control(frame: ServerFrame): void {
    if (this.disposed) return
    if (this.state === 'cutting') this.held.push(frame)
    else this.viewer.send(frame)
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
    this.stopDrain = this.viewer.onDrain(() => {
      this.stopDrain?.()
      this.stopDrain = null
      if (this.disposed) return
      this.cut((snap) => this.sendWithSnapshot({ type: 'resync', ch: this.ch, cols: snap.cols, rows: snap.rows }, snap))
    })
  }

  /** An `attached` or `resync` frame with its snapshot: inside it as JSON, or in the binary frame right after it. */
  private sendWithSnapshot(
    head: Omit<Extract<ServerFrame, { type: 'attached' }>, 'snapshot'> | Omit<Extract<ServerFrame, { type: 'resync' }>, 'snapshot'>,
    snap: Snapshot,
  ): void {
    if (!this.binarySnapshot) return this.viewer.send({ ...head, snapshot: snap.data } as ServerFrame)
    this.viewer.send({ ...head, snapshotBytes: snapshotPayloadBytes(snap.data) } as ServerFrame)
    this.viewer.sendSnapshot(this.ch, snap.data)
  }

  private cut(send: (snap: Snapshot) => void): void {
    // Output the mirror still batches lies before the cut: it must reach this attachment (and be
    // dropped while stale) before output starts being held for after the snapshot.
    this.mirror.flush()
    this.state = 'cutting'
    this.mirror.cut((snap) => {
      if (this.disposed) return
      send(snap)
      this.state = 'live'
      const held = this.held
      this.held = []
      // The snapshot may already hold the first bytes after the cut (the end of an escape
      // sequence the cut fell in, see CUT_SETTLE_MS): they are not sent again.
      let covered = snap.covered ?? 0
      for (const item of held) {
        if (!(item instanceof OutputChunk)) this.control(item)
        else if (covered >= item.size) covered -= item.size
        else if (covered > 0) {
          this.output(new OutputChunk([item.bytes.subarray(covered)], item.size - covered))
          covered = 0
        } else this.output(item)
      }
    })
  }
}
