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
 * Refuses a WebSocket upgrade with a real HTTP response, so a client sees 401/403 and a JSON
 * reason instead of a bare socket close.
 */
export function rejectUpgrade(socket: Duplex, err: HttpError): void {
  const text = JSON.stringify(errorBody(err.code, err.message))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n` +
        text,
    )
  }
  socket.destroy()
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
