/**
 * @tabula/web: serves the built web viewer (examples/web/dist/public) at `/`.
 *
 * The page and its assets are public: they hold no secret, and a browser cannot send a bearer
 * token with a top-level navigation. The token travels in the URL fragment, which never reaches
 * a server, and the page presents it on its own WebSocket and fetch calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Component } from '@tabula/server-kit'
import { createStaticFiles, type StaticFiles } from './static-files.js'

export interface WebViewerOptions {
  /** Directory of the built page; defaults to this package's dist/public. */
  root?: string
}

/** dist/tsc/index.js sits two levels below the package root; the page is built into dist/public. */
const DEFAULT_ROOT = fileURLToPath(new URL('../public/', import.meta.url))

export function createWebViewer(options: WebViewerOptions = {}): Component {
  const files: StaticFiles = createStaticFiles(options.root ?? DEFAULT_ROOT)
  return {
    name: 'web',
    isPublic(req: IncomingMessage, url: URL): boolean {
      return (req.method === 'GET' || req.method === 'HEAD') && files.has(url.pathname)
    },
    handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false
      return files.serve(req, res, url.pathname)
    },
    async close(): Promise<void> {},
  }
}
