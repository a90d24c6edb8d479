/**
 * The live channel's mount point in the daemon. STUB: issue 3 replaces this module.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '@tabula/protocol/server'
import type { SessionMapView } from '../sessions/types.js'

export interface LiveChannelOptions {
  sessions: SessionMapView
  hasWorkspace(id: string): boolean
  log: Logger
  /** Lines of scrollback per headless terminal. */
  scrollback: number
  version: string
}

export interface LiveChannel {
  /** True when the upgrade was for the live channel (`/v1/live`) and has been taken. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean
  close(): Promise<void>
}

/** Must be created before any session is spawned or restored, so every byte is mirrored. */
export function createLiveChannel(_opts: LiveChannelOptions): LiveChannel {
  return { handleUpgrade: () => false, close: async () => {} }
}
