/**
 * The live channel: one WebSocket per viewer at `/v1/live`, carrying workspace events
 * and every attached terminal, multiplexed. JSON text frames for control and events; terminal
 * output travels in binary frames (see `encodeOutputFrame`) because it is the bulk of the
 * traffic. docs/protocol.md is the reference a third-party client is written against.
 *
 * The daemon, the SDK and the tests all import these types from here; none keeps a copy. The
 * viewer's frames are defined once, as the schema in validate.ts; their type is inferred from it.
 */
import type { z } from 'zod'
import type { Session, ErrorCode } from './api.js'
import type { clientFrameSchema, viewerInfoSchema } from './validate.js'
import { MAX_LIVE_FRAME_BYTES } from './limits.js'

/** Who a viewer is, as others see it in presence and as the active driver. */
export type ViewerInfo = z.infer<typeof viewerInfoSchema>

// ── viewer → daemon ────────────────────────────────────────────────────────────────────────────

/**
 * What a viewer sends, inferred from the schema the daemon validates with (validate.ts, where each
 * frame's meaning is written down): one definition, and no zod in a browser bundle, because both
 * imports are type-only.
 */
export type ClientFrame = z.infer<typeof clientFrameSchema>

// ── daemon → viewer ────────────────────────────────────────────────────────────────────────────

export type ServerFrame =
  | { type: 'welcome'; viewerId: string; version: string }
  /** The full key set of a workspace: first after `watch`, and again after every reconnect. */
  | { type: 'sessions'; workspace: string; seq: number; sessions: Session[] }
  | { type: 'session_added'; workspace: string; seq: number; session: Session }
  | { type: 'session_removed'; workspace: string; seq: number; key: string }
  | { type: 'session_updated'; workspace: string; seq: number; session: Session }
  /** Reply to attach: the serialized screen and scrollback; live output follows, gapless. */
  | ({ type: 'attached'; ch: number; key: string; cols: number; rows: number; activeViewer: string | null } & SnapshotBody)
  /**
   * A fresh snapshot replacing the screen: `behind`, this viewer fell behind and its queue
   * overflowed; `history`, the whole snapshot after the screen-only one of a `screenFirst` attach.
   */
  | ({ type: 'resync'; ch: number; cols: number; rows: number; reason: ResyncReason } & SnapshotBody)
  /** Size or driver changed; sent to every viewer attached to the session. */
  | { type: 'size'; ch: number; cols: number; rows: number; activeViewer: string | null }
  | { type: 'resize_ignored'; ch: number; reason: 'not_active'; activeViewer: string | null }
  | { type: 'exit'; ch: number; exitCode: number | null }
  /** The session was closed at the daemon; the channel is over. */
  | { type: 'detached'; ch: number; reason: 'closed' | 'detached' | 'unknown_key' }
  | { type: 'pong'; id?: number }
  | { type: 'error'; code: ErrorCode; message: string; ch?: number; workspace?: string }

/** Why a `resync` frame came (docs/protocol.md §4, §5). */
export type ResyncReason = 'behind' | 'history'

/**
 * Where an `attached` or `resync` frame's snapshot is: in the frame as a JSON string (the
 * default), or, for an attach that asked for `binarySnapshot`, in the binary snapshot frame
 * (BINARY_SNAPSHOT) that comes next on the socket, whose length in bytes is `snapshotBytes`.
 */
export type SnapshotBody = { snapshot: string; snapshotBytes?: never } | { snapshotBytes: number; snapshot?: never }

/**
 * The largest message the daemon's socket reads at all. Frames above MAX_LIVE_FRAME_BYTES but
 * under this are read, refused with a `frame_too_large` error frame, and the socket keeps
 * serving; above this the socket closes with 1009 (message too big) so a client cannot make the
 * daemon buffer an unbounded message.
 */
export const LIVE_SOCKET_MAX_PAYLOAD_BYTES = 4 * MAX_LIVE_FRAME_BYTES

/**
 * Input longer than this many UTF-16 code units is split into several `input` frames by the
 * SDK. JSON escaping can grow a character to 6 bytes (`\u001b`), so 64 Ki code units stay well
 * under MAX_LIVE_FRAME_BYTES whatever is pasted.
 */
export const INPUT_CHUNK_CHARS = 64 * 1024

/** What a viewer writes before a snapshot so its emulator starts from a clean state (RIS). */
export const FULL_RESET = '\x1bc'

/** Binary frame kinds: byte 0 of every binary frame. */
export const BINARY_OUTPUT = 0x01
/**
 * `[0x02][ch: uint32 BE][reset + snapshot, UTF-8]`: the snapshot of the `attached` or `resync`
 * frame just before it, for an attach that asked for `binarySnapshot`. Its bytes start with
 * FULL_RESET, so a viewer writes them into its emulator as they are: no JSON escaping on the way
 * (every ESC would be six bytes), no string to decode or re-encode at either end.
 */
export const BINARY_SNAPSHOT = 0x02

/** Bytes in front of the payload of every binary frame: the kind and the channel. */
export const BINARY_HEADER_BYTES = 5

/** `[0x01][ch: uint32 BE][UTF-8 output bytes]`. */
export function encodeOutputFrame(ch: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + data.length)
  frame[0] = BINARY_OUTPUT
  new DataView(frame.buffer).setUint32(1, ch)
  frame.set(data, 5)
  return frame
}

export function decodeOutputFrame(frame: Uint8Array): { ch: number; data: Uint8Array } | null {
  const decoded = decodeBinaryFrame(frame)
  return decoded?.kind === BINARY_OUTPUT ? { ch: decoded.ch, data: decoded.data } : null
}

/** Any binary frame of the daemon (output or snapshot); null for a kind this version does not know. */
export function decodeBinaryFrame(frame: Uint8Array): { kind: number; ch: number; data: Uint8Array } | null {
  const kind = frame[0]
  if (frame.length < BINARY_HEADER_BYTES || (kind !== BINARY_OUTPUT && kind !== BINARY_SNAPSHOT)) return null
  const ch = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1)
  return { kind, ch, data: frame.subarray(BINARY_HEADER_BYTES) }
}
