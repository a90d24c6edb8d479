/**
 * The live channel (SPEC §5): one WebSocket per viewer at `/v1/live`, carrying workspace events
 * and every attached terminal, multiplexed. JSON text frames for control and events; terminal
 * output travels in binary frames (see `encodeOutputFrame`) because it is the bulk of the
 * traffic. docs/protocol.md is the reference a third-party client is written against.
 *
 * OWNER: the live-channel work (issue 3). Other parts import these types; do not fork them.
 */
import type { Session, ErrorCode } from './api.js'

export const LIVE_PATH = '/v1/live'

/** Who a viewer is, as others see it in presence and as the active driver. */
export interface ViewerInfo {
  name: string
  /** Free-form, e.g. "desktop", "phone", "cli", "editor". */
  kind: string
}

// ── viewer → daemon ────────────────────────────────────────────────────────────────────────────

export type ClientFrame =
  | { type: 'hello'; viewer: ViewerInfo }
  | { type: 'watch'; workspace: string }
  | { type: 'unwatch'; workspace: string }
  /** `ch` is chosen by the viewer, unique among its own open attachments. */
  | { type: 'attach'; ch: number; key: string }
  | { type: 'detach'; ch: number }
  | { type: 'input'; ch: number; data: string }
  | { type: 'resize'; ch: number; cols: number; rows: number }
  | { type: 'set_active'; ch: number; active: boolean }
  | { type: 'ping'; id?: number }

// ── daemon → viewer ────────────────────────────────────────────────────────────────────────────

export type ServerFrame =
  | { type: 'welcome'; viewerId: string; version: string }
  /** The full key set of a workspace: first after `watch`, and again after every reconnect. */
  | { type: 'sessions'; workspace: string; seq: number; sessions: Session[] }
  | { type: 'session_added'; workspace: string; seq: number; session: Session }
  | { type: 'session_removed'; workspace: string; seq: number; key: string }
  | { type: 'session_updated'; workspace: string; seq: number; session: Session }
  /** Reply to attach: the serialized screen and scrollback; live output follows, gapless. */
  | { type: 'attached'; ch: number; key: string; cols: number; rows: number; activeViewer: string | null; snapshot: string }
  /** A fresh snapshot replacing the screen (this viewer fell behind and its queue overflowed). */
  | { type: 'resync'; ch: number; cols: number; rows: number; snapshot: string }
  /** Size or driver changed; sent to every viewer attached to the session. */
  | { type: 'size'; ch: number; cols: number; rows: number; activeViewer: string | null }
  | { type: 'resize_ignored'; ch: number; reason: 'not_active'; activeViewer: string | null }
  | { type: 'exit'; ch: number; exitCode: number | null }
  /** The session was closed at the daemon; the channel is over. */
  | { type: 'detached'; ch: number; reason: 'closed' | 'detached' | 'unknown_key' }
  | { type: 'pong'; id?: number }
  | { type: 'error'; code: ErrorCode; message: string; ch?: number; workspace?: string }

/** Binary frame kinds: byte 0 of every binary frame. */
export const BINARY_OUTPUT = 0x01

/** `[0x01][ch: uint32 BE][UTF-8 output bytes]`. */
export function encodeOutputFrame(ch: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + data.length)
  frame[0] = BINARY_OUTPUT
  new DataView(frame.buffer).setUint32(1, ch)
  frame.set(data, 5)
  return frame
}

export function decodeOutputFrame(frame: Uint8Array): { ch: number; data: Uint8Array } | null {
  if (frame.length < 5 || frame[0] !== BINARY_OUTPUT) return null
  const ch = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1)
  return { ch, data: frame.subarray(5) }
}
