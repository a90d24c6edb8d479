/**
 * One viewer's socket and its send queue. Output is queued per channel so that, when a viewer
 * falls behind, the daemon can throw away that viewer's backlog for one terminal (and later send
 * it a fresh snapshot) without touching anybody else, and without ever pausing the PTY.
 */
import type { WebSocket } from 'ws'
import {
  BINARY_HEADER_BYTES,
  BINARY_OUTPUT,
  BINARY_SNAPSHOT,
  FULL_RESET,
  Listeners,
  MAX_VIEWER_QUEUED_BYTES,
  type ServerFrame,
} from '@tabula/protocol'
import { allocFrame, type OutputChunk } from './output.js'
import type { Snapshot } from '../screen/screen.js'

/**
 * Bytes handed to the socket and not yet flushed to the kernel. Beyond this, frames wait in our
 * own queue, where they can still be merged or dropped. 1 MiB keeps a fast loopback or LAN link
 * busy (several round trips' worth) while a stalled one holds at most this much in ws's buffers.
 */
export const SEND_WINDOW_BYTES = 1024 * 1024

/**
 * Output queued behind the window, per viewer. Past this the viewer is too slow for the program
 * it watches: its queued output for the terminal being appended is dropped and it gets a fresh
 * snapshot once drained. 4 MiB is a couple of seconds of a flood on a slow phone link: enough to
 * ride out a hiccup without a resync, small enough that a hundred stalled viewers cost < 1 GB.
 */
export const VIEWER_QUEUE_LIMIT_BYTES = 4 * 1024 * 1024

/**
 * Everything queued (output, snapshots, events): MAX_VIEWER_QUEUED_BYTES. Control frames are
 * never dropped, so a viewer that stops reading while snapshots and events pile up is
 * disconnected past this bound; its client reconnects and starts from fresh state.
 */
export const VIEWER_HARD_LIMIT_BYTES = MAX_VIEWER_QUEUED_BYTES

/**
 * Consecutive queued output chunks of one channel are merged into one binary frame up to this
 * size: fewer frames and syscalls under a flood, while a frame stays small enough to interleave
 * with other channels' output. (A chunk that is sent on its own goes out as the frame the mirror
 * built once for every viewer; only merging copies.)
 */
export const MAX_OUTPUT_FRAME_BYTES = 256 * 1024

/** WebSocket close code for a viewer dropped past VIEWER_HARD_LIMIT_BYTES (1013: try again later). */
export const CLOSE_TOO_SLOW = 1013

/**
 * A viewer cut for not reading gets its close frame (code and reason) if it reads again within
 * this grace; then its connection is ended, so that what ws still buffers for it is freed too.
 */
export const CUT_GRACE_MS = 2_000

type Item =
  | { kind: 'output'; ch: number; chunks: OutputChunk[]; bytes: number }
  /** Events and snapshots: never dropped; a snapshot frame is binary, every other one text. */
  | { kind: 'control'; data: Buffer; bytes: number; binary: boolean }

export class Viewer {
  private readonly queue: Item[] = []
  private queuedOutput = 0
  private queuedTotal = 0
  private inflight = 0
  private closed = false
  private readonly drainListeners = new Listeners<[]>()
  name = ''
  kind = ''

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
  ) {}

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === this.socket.OPEN
  }

  /** True when nothing waits in our queue and the socket has taken most of the window. */
  get drained(): boolean {
    return this.queue.length === 0 && this.inflight <= SEND_WINDOW_BYTES / 2
  }

  send(frame: ServerFrame): void {
    if (this.closed) return
    // Encoded once: ws would otherwise measure and convert the text again (sent as a text frame below).
    const data = Buffer.from(JSON.stringify(frame))
    this.push({ kind: 'control', data, bytes: data.length, binary: false })
  }

  /**
   * Queues the binary snapshot frame of channel `ch` (docs/protocol.md §4): the reset and the
   * snapshot encoded once, straight into the frame, its stored rows (Snapshot.stored) copied in
   * as the bytes they are. Call it right after the `attached`/`resync` frame it belongs to. Like
   * every control frame it is never dropped, and it counts.
   */
  sendSnapshot(ch: number, snapshot: Pick<Snapshot, 'data' | 'stored'>): void {
    if (this.closed) return
    const data = snapshotFrame(ch, snapshot)
    this.push({ kind: 'control', data, bytes: data.length, binary: true })
  }

  /**
   * Queues terminal output. Returns false, and queues nothing, when the viewer is too far behind:
   * the caller then drops the channel's backlog (dropOutput) and resyncs it later.
   */
  sendOutput(ch: number, chunk: OutputChunk): boolean {
    if (this.closed) return true
    const bytes = chunk.size
    if (this.queuedOutput + bytes > VIEWER_QUEUE_LIMIT_BYTES) return false
    const last = this.queue[this.queue.length - 1]
    if (last?.kind === 'output' && last.ch === ch && last.bytes + bytes <= MAX_OUTPUT_FRAME_BYTES) {
      last.chunks.push(chunk)
      last.bytes += bytes
      this.queuedOutput += bytes
      this.queuedTotal += bytes
      this.flush()
      return true
    }
    this.push({ kind: 'output', ch, chunks: [chunk], bytes })
    return true
  }

  /** Forgets the queued (not yet sent) output of one channel. */
  dropOutput(ch: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i]!
      if (item.kind === 'output' && item.ch === ch) {
        this.queue.splice(i, 1)
        this.queuedOutput -= item.bytes
        this.queuedTotal -= item.bytes
      }
    }
  }

  /** Called each time the queue empties and the window has room again. */
  onDrain(listener: () => void): () => void {
    const subscription = this.drainListeners.add(listener)
    return () => subscription.dispose()
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return
    this.closed = true
    this.queue.length = 0
    this.queuedOutput = this.queuedTotal = 0
    this.drainListeners.clear()
    try {
      this.socket.close(code, reason)
    } catch {
      this.socket.terminate()
    }
  }

  /** Marks the viewer gone (its socket closed); further sends are no-ops. */
  gone(): void {
    this.closed = true
    this.queue.length = 0
    this.queuedOutput = this.queuedTotal = 0
    this.drainListeners.clear()
  }

  private push(item: Item): void {
    this.queue.push(item)
    if (item.kind === 'output') this.queuedOutput += item.bytes
    this.queuedTotal += item.bytes
    if (this.queuedTotal > VIEWER_HARD_LIMIT_BYTES) {
      this.close(CLOSE_TOO_SLOW, `viewer not reading: over ${VIEWER_HARD_LIMIT_BYTES} bytes queued`)
      setTimeout(() => this.socket.terminate(), CUT_GRACE_MS).unref()
      return
    }
    this.flush()
  }

  private flush(): void {
    let sent = false
    while (!this.closed && this.inflight < SEND_WINDOW_BYTES && this.queue.length > 0) {
      const item = this.queue.shift()!
      this.queuedTotal -= item.bytes
      if (item.kind === 'output') this.queuedOutput -= item.bytes
      const payload = item.kind === 'control' ? item.data : outputFrame(item.ch, item.chunks, item.bytes)
      const bytes = item.bytes
      this.inflight += bytes
      sent = true
      this.socket.send(payload, { binary: item.kind === 'output' || item.binary }, () => {
        this.inflight -= bytes
        if (!this.closed) this.flush()
      })
    }
    if (!sent && this.drained && this.drainListeners.size > 0) this.drainListeners.emit()
  }
}

/** The length of the snapshot payload for `snapshot`: the reset, then the snapshot, in UTF-8. */
export function snapshotPayloadBytes({ data, stored }: Pick<Snapshot, 'data' | 'stored'>): number {
  let bytes = FULL_RESET.length + Buffer.byteLength(data)
  for (const piece of stored?.pieces ?? []) bytes += typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length
  return bytes
}

/**
 * `[0x02][ch][ESC c][snapshot]`, written in place: one pass over the text, no intermediate copy;
 * stored rows given by reference go in at their place (`stored.at`) as their UTF-8 bytes.
 */
function snapshotFrame(ch: number, snapshot: Pick<Snapshot, 'data' | 'stored'>): Buffer {
  const frame = allocFrame(BINARY_SNAPSHOT, ch, snapshotPayloadBytes(snapshot))
  let at = BINARY_HEADER_BYTES + frame.write(FULL_RESET, BINARY_HEADER_BYTES, 'latin1')
  const { data, stored } = snapshot
  if (!stored) {
    frame.write(data, at, 'utf8')
    return frame
  }
  at += frame.write(data.slice(0, stored.at), at, 'utf8')
  for (const piece of stored.pieces) {
    if (typeof piece === 'string') at += frame.write(piece, at, 'utf8')
    else {
      frame.set(piece, at)
      at += piece.length
    }
  }
  frame.write(data.slice(stored.at), at, 'utf8')
  return frame
}

/** One binary frame for queued chunks: the shared frame of a lone chunk, else a merged copy. */
function outputFrame(ch: number, chunks: OutputChunk[], bytes: number): Buffer {
  if (chunks.length === 1) return chunks[0]!.frame(ch)
  const frame = allocFrame(BINARY_OUTPUT, ch, bytes)
  let at = BINARY_HEADER_BYTES
  for (const chunk of chunks) {
    frame.set(chunk.bytes, at)
    at += chunk.size
  }
  return frame
}
