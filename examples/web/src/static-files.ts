/**
 * A tiny static file server for the viewer's own built assets: a fixed set of files read once
 * at start (the bundle is a few hundred kilobytes), so a request can never name a path outside
 * the build directory and serving costs no disk access.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

interface StaticFile {
  body: Buffer
  type: string
  etag: string
}

export interface StaticFiles {
  has(pathname: string): boolean
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean
}

export function createStaticFiles(root: string): StaticFiles {
  const files = new Map<string, StaticFile>()
  for (const path of listFiles(root)) {
    const body = readFileSync(path)
    const urlPath = '/' + relative(root, path).split(sep).join('/')
    files.set(urlPath, {
      body,
      type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      etag: '"' + createHash('sha1').update(body).digest('base64url').slice(0, 16) + '"',
    })
  }
  const lookup = (pathname: string) => files.get(pathname === '/' ? '/index.html' : pathname)

  return {
    has: (pathname) => lookup(pathname) !== undefined,
    serve(req, res, pathname) {
      const file = lookup(pathname)
      if (!file) return false
      const headers: Record<string, string> = {
        'content-type': file.type,
        etag: file.etag,
        // Revalidate every time: the files are tiny and a stale bundle after an upgrade confuses.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      }
      if (file.type.startsWith('text/html')) {
        headers['content-security-policy'] =
          "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
        headers['x-frame-options'] = 'DENY'
      }
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, headers).end()
        return true
      }
      headers['content-length'] = String(file.body.length)
      res.writeHead(200, headers)
      res.end(req.method === 'HEAD' ? undefined : file.body)
      return true
    },
  }
}

function listFiles(dir: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return [] // not built yet: the viewer serves nothing and the host answers 404
  }
  return entries.flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? listFiles(path) : [path]
  })
}
