/**
 * Turns one inbound WebSocket message into a validated ClientFrame, or a reason a person can read.
 * Nothing here throws: a bad frame is answered with an `error` frame and the socket keeps serving.
 */
import { MAX_LIVE_FRAME_BYTES, type ClientFrame, type ErrorCode } from '@tabula/protocol'
import { CLIENT_FRAME_TYPES, clientFrameSchema, describeIssues } from '@tabula/protocol/validate'

export type Parsed = { ok: true; frame: ClientFrame } | { ok: false; code: ErrorCode; message: string; ch?: number }

const KNOWN_TYPES = new Set<string>(CLIENT_FRAME_TYPES)

export function parseClientFrame(data: Buffer, isBinary: boolean): Parsed {
  if (data.length > MAX_LIVE_FRAME_BYTES) {
    return {
      ok: false,
      code: 'frame_too_large',
      message: `frame of ${data.length} bytes is larger than the limit of ${MAX_LIVE_FRAME_BYTES}; split input into smaller frames`,
    }
  }
  if (isBinary) {
    return { ok: false, code: 'unknown_frame', message: 'viewers send JSON text frames; binary frames are only sent by the daemon' }
  }
  let value: unknown
  try {
    value = JSON.parse(data.toString('utf8'))
  } catch (err) {
    return { ok: false, code: 'invalid_json', message: `frame is not valid JSON: ${(err as Error).message}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_frame', message: 'a frame is a JSON object with a "type"' }
  }
  const type = (value as { type?: unknown }).type
  const ch = typeof (value as { ch?: unknown }).ch === 'number' ? (value as { ch: number }).ch : undefined
  if (typeof type !== 'string') return { ok: false, code: 'invalid_frame', message: 'a frame needs a string "type"', ch }
  if (!KNOWN_TYPES.has(type)) {
    return {
      ok: false,
      code: 'unknown_frame',
      message: `unknown frame type "${type.slice(0, 64)}"; known: ${CLIENT_FRAME_TYPES.join(', ')}`,
      ch,
    }
  }
  const result = clientFrameSchema.safeParse(value)
  if (!result.success) return { ok: false, code: 'invalid_frame', message: `${type}: ${describeIssues(result.error)}`, ch }
  return { ok: true, frame: result.data }
}
