import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { STATUS_CODES } from 'node:http'
import type { ErrorBody, ErrorCode } from '@tabula/protocol'

/** An error that already knows the HTTP status and the JSON body a client should get. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy(err)
    return
  }
  // A body refused as too large may still be arriving: the connection is not kept for another
  // request (the client would read the rest of its own body as the next answer), and says so.
  if (err.status === 413) res.shouldKeepAlive = false
  sendJson(res, err.status, errorBody(err.code, err.message))
}

/**
 * The one writer of an error response straight onto a socket, for the moments when no
 * ServerResponse exists: an upgrade refused (401/403/404/503), a request node's parser could not
 * read or that came too slowly (400/408), a connection over the cap (503). The client sees the
 * status and the same JSON body as every other refusal instead of a bare close. The socket is
 * closed once the answer is flushed; a peer that reset meanwhile is no longer anyone's concern.
 */
export function writeRawError(socket: Duplex, err: HttpError, headers: Record<string, string> = {}): void {
  socket.on('error', () => {})
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const text = JSON.stringify(errorBody(err.code, err.message))
  let head = `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\nConnection: close\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  head += `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n`
  socket.end(head + text)
  // Destroyed once the answer is written, so a peer that never reads cannot hold the socket open.
  const net = socket as Duplex & { destroySoon?: () => void }
  if (net.destroySoon) net.destroySoon()
  else socket.once('finish', () => socket.destroy())
}

/** Refuses a WebSocket upgrade with a real HTTP response (writeRawError). */
export function rejectUpgrade(socket: Duplex, err: HttpError): void {
  writeRawError(socket, err)
}

/**
 * Reads a JSON request body of at most `limit` bytes. Refuses early on Content-Length, and again
 * while streaming, so a lying client cannot make the server buffer more than the limit.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type']
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', `expected application/json, got ${type}`)
  }
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      req.resume() // drain the rest, so the 413 reaches the client instead of a reset
      throw tooLarge(limit)
    }
    chunks.push(chunk)
  }
  if (size === 0) return {}
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`)
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`)
}
