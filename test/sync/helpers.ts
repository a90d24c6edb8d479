/**
 * What the sync tests share: the stock y-websocket provider as a user's viewer would run it, a
 * raw WebSocket for speaking malformed protocol, an in-process server for tests that need to
 * look inside (unload), and a poll for "eventually".
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { wsProtocols } from '@tabula/protocol'
import { createLogger, startHost, type Host } from '@tabula/server-kit'
import { createSyncServer, type SyncServer, type SyncServerOptions } from '@tabula/sync-server'
import { encodeAwareness } from '../../sync-server/src/messages.js'

export const WORKSPACE = 'b16f79b5-3c2e-4b8a-9d41-7e2f0c6a1d55'

/** The stock provider, exactly as docs/sync.md "Connecting" shows it (BroadcastChannel off: two providers in one process must talk through the server). */
export function connectProvider(url: string, workspace: string, token: string, doc = new Y.Doc()): WebsocketProvider {
  return new WebsocketProvider(url + '/sync', workspace, doc, {
    protocols: wsProtocols(token),
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
}

export function synced(provider: WebsocketProvider): Promise<void> {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve) => {
    const on = (isSynced: boolean) => {
      if (!isSynced) return
      provider.off('sync', on)
      resolve()
    }
    provider.on('sync', on)
  })
}

export interface LocalSync {
  url: string
  token: string
  home: string
  sync: SyncServer
  host: Host
  stop(): Promise<void>
}

/** A sync server in this process, mounted on the real host (auth and Origin checks included). */
export async function startLocalSync(options: Partial<SyncServerOptions> = {}): Promise<LocalSync> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'tabula-sync-test-'))
  const token = 'a'.repeat(64)
  const log = createLogger('sync-test', 'silent')
  const sync = await createSyncServer({ home, log, ...options })
  const host = await startHost({ host: '127.0.0.1', port: 0, token, components: [sync], log })
  return {
    url: host.url,
    token,
    home,
    sync,
    host,
    async stop() {
      await host.close()
      if (!options.home) rmSync(home, { recursive: true, force: true })
    },
  }
}

/** Presence of `count` fake clients from `first` on, each with a state of about `bytes` bytes, as one awareness message. */
export function spam(first: number, count: number, bytes: number, clock = 1): Uint8Array {
  return encodeAwareness(
    Array.from({ length: count }, (_, i) => ({ clientId: first + i, clock, state: JSON.stringify({ user: { name: 'x'.repeat(bytes) } }) })),
  )
}

/** A raw client: opens with the token, records how the server closed it. */
export function rawClient(
  url: string,
  workspace: string,
  token: string,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/sync/${workspace}`, wsProtocols(token))
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  ws.on('error', () => {})
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
  })
}

/** Attempts an upgrade and reports the HTTP answer when refused (status and JSON body). */
export function tryUpgrade(
  url: string,
  path: string,
  headers: Record<string, string>,
  protocols?: string[],
): Promise<{ status: number; body: unknown; protocol?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + path, protocols, { headers })
    ws.on('error', () => {})
    ws.once('open', () => {
      resolve({ status: 101, body: null, protocol: ws.protocol })
      ws.close()
    })
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
        } catch (err) {
          reject(err)
        }
      })
    })
  })
}
