/**
 * The y-websocket wire format (y-protocols sync and awareness), decoded and validated in full
 * before anything acts on it. Written here rather than taken from y-protocols/sync because that
 * module applies updates as it reads them: a message that turns out to be malformed halfway
 * would already have changed the document. Here a message is either entirely well formed and
 * returned as data, or rejected with a reason, and nothing has been touched.
 *
 * Frame layout (lib0 varints):
 *   0 sync      : 0 step1 <state vector> | 1 step2 <update> | 2 update <update>
 *   1 awareness : <awareness update>  = count, then per entry: clientID, clock, JSON state
 *   2 auth      : (server to client only)
 *   3 query awareness : (no payload)
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import {
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
} from '@tabula/protocol'

export { MESSAGE_AUTH, MESSAGE_AWARENESS, MESSAGE_QUERY_AWARENESS, MESSAGE_SYNC, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE }

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** The state as JSON text ("null" means the client left), kept as sent so relaying is exact. */
  state: string
}

export type ClientMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; entries: AwarenessEntry[] }
  | { type: 'query-awareness' }

/** What was wrong with a message, in words that go into the log and the close reason. */
export class MalformedMessage extends Error {
  override name = 'MalformedMessage'
}

export function decodeClientMessage(data: Uint8Array): ClientMessage {
  const decoder = decoding.createDecoder(data)
  let message: ClientMessage
  try {
    message = readMessage(decoder)
  } catch (err) {
    if (err instanceof MalformedMessage) throw err
    throw new MalformedMessage(`cannot decode message: ${(err as Error).message}`)
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage(`${data.length - decoder.pos} bytes after the end of the message`)
  return message
}

function readMessage(decoder: decoding.Decoder): ClientMessage {
  const type = decoding.readVarUint(decoder)
  switch (type) {
    case MESSAGE_SYNC: {
      const step = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (step === SYNC_STEP1) {
        checkStateVector(payload)
        return { type: 'sync-step1', stateVector: payload }
      }
      if (step === SYNC_STEP2 || step === SYNC_UPDATE) {
        checkUpdate(payload)
        return { type: 'sync-update', update: payload }
      }
      throw new MalformedMessage(`unknown sync message type ${step}`)
    }
    case MESSAGE_AWARENESS:
      return { type: 'awareness', entries: decodeAwarenessUpdate(decoding.readVarUint8Array(decoder)) }
    case MESSAGE_QUERY_AWARENESS:
      return { type: 'query-awareness' }
    default:
      throw new MalformedMessage(`unknown message type ${type}`)
  }
}

function checkStateVector(payload: Uint8Array): void {
  const decoder = decoding.createDecoder(payload)
  const count = decoding.readVarUint(decoder)
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder)
    decoding.readVarUint(decoder)
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage('state vector has trailing bytes')
}

/**
 * Decodes every struct and the delete set of a (v1) update without applying it. Yjs applies an
 * update's structs before it reads the delete set, so a truncated delete set would otherwise
 * fail after the structs were in: decoding first is what makes applying all-or-nothing.
 */
function checkUpdate(update: Uint8Array): void {
  try {
    Y.decodeUpdate(update)
  } catch (err) {
    throw new MalformedMessage(`update does not decode: ${(err as Error).message}`)
  }
}

export function decodeAwarenessUpdate(payload: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(payload)
  const count = decoding.readVarUint(decoder)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    const state = decoding.readVarString(decoder)
    try {
      JSON.parse(state)
    } catch {
      throw new MalformedMessage(`awareness state of client ${clientId} is not JSON`)
    }
    entries.push({ clientId, clock, state })
  }
  if (decoding.hasContent(decoder)) throw new MalformedMessage('awareness update has trailing bytes')
  return entries
}

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC)
    encoding.writeVarUint(e, SYNC_STEP1)
    encoding.writeVarUint8Array(e, Y.encodeStateVector(doc))
  })
}

export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC)
    encoding.writeVarUint(e, SYNC_STEP2)
    encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, stateVector))
  })
}

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC)
    encoding.writeVarUint(e, SYNC_UPDATE)
    encoding.writeVarUint8Array(e, update)
  })
}

export function encodeAwareness(entries: AwarenessEntry[]): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS)
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, entries.length)
    for (const { clientId, clock, state } of entries) {
      encoding.writeVarUint(inner, clientId)
      encoding.writeVarUint(inner, clock)
      encoding.writeVarString(inner, state)
    }
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  })
}

/** y-protocols' auth message "permission denied" (the stock provider logs the reason). */
export const AUTH_PERMISSION_DENIED = 0

export function encodePermissionDenied(reason: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AUTH)
    encoding.writeVarUint(e, AUTH_PERMISSION_DENIED)
    encoding.writeVarString(e, reason)
  })
}

/** True when an update carries no change at all (a client answering sync step 1 with nothing new). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  const { structs, ds } = Y.decodeUpdate(update)
  return structs.length === 0 && ds.clients.size === 0
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}
