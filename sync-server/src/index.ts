/**
 * @tabula/sync-server: y-websocket-compatible relay and store for layout documents (SPEC §6).
 * STUB: implemented by issue 4.
 */
import type { Component, Logger } from '@tabula/protocol/server'

export interface SyncServerOptions {
  home: string
  log: Logger
  /** When the daemon runs in the same process: refuse rooms that name no workspace. */
  workspaceExists?: (id: string) => boolean
}

export async function createSyncServer(_opts: SyncServerOptions): Promise<Component> {
  return { name: 'sync', handleRequest: () => false, close: async () => {} }
}
