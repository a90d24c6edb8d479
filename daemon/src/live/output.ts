/**
 * One piece of a terminal's output as it travels to the screen and to every viewer. The bytes are
 * laid out after room for the binary frame header, so the frame for a channel is built once, in
 * place, and the same buffer goes to every viewer that shows the terminal on that channel (the
 * usual case: each viewer's first terminal is channel 1). No per-viewer copy, no re-encoding.
 */
import { BINARY_HEADER_BYTES, BINARY_OUTPUT } from '@tabula/protocol'

/** `[kind][ch: uint32 BE]` in front of a binary frame's payload (docs/protocol.md §2). */
function writeHeader(frame: Buffer, kind: number, ch: number): void {
  frame[0] = kind
  frame.writeUInt32BE(ch, 1)
}

/** A binary frame of `kind` for channel `ch`, its header written, with room for `payload` bytes after it. */
export function allocFrame(kind: number, ch: number, payload: number): Buffer {
  const frame = Buffer.allocUnsafe(BINARY_HEADER_BYTES + payload)
  writeHeader(frame, kind, ch)
  return frame
}

export class OutputChunk {
  /** The output, exactly as the program wrote it (it may end inside a UTF-8 character). */
  readonly bytes: Uint8Array
  private readonly buffer: Buffer
  /** The channel whose header `buffer` carries, once one was asked for. */
  private headerCh: number | null = null
  /** Frames for further channels, each a copy (rare: a viewer numbering its channels its own way). */
  private others: Map<number, Buffer> | null = null

  /** Copies the first `size` bytes of `chunks` once, behind the room for a header. */
  constructor(chunks: readonly Uint8Array[], size: number) {
    this.buffer = Buffer.allocUnsafe(BINARY_HEADER_BYTES + size)
    const end = BINARY_HEADER_BYTES + size
    let at = BINARY_HEADER_BYTES
    for (const chunk of chunks) {
      if (at >= end) break
      const part = chunk.length <= end - at ? chunk : chunk.subarray(0, end - at)
      this.buffer.set(part, at)
      at += part.length
    }
    this.bytes = this.buffer.subarray(BINARY_HEADER_BYTES)
  }

  get size(): number {
    return this.bytes.length
  }

  /** The binary output frame of this chunk for channel `ch`; built once per channel, shared. */
  frame(ch: number): Buffer {
    if (this.headerCh === null) {
      writeHeader(this.buffer, BINARY_OUTPUT, ch)
      this.headerCh = ch
    }
    if (ch === this.headerCh) return this.buffer
    let frame = (this.others ??= new Map()).get(ch)
    if (!frame) {
      frame = Buffer.from(this.buffer)
      writeHeader(frame, BINARY_OUTPUT, ch)
      this.others.set(ch, frame)
    }
    return frame
  }
}
