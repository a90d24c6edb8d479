/**
 * @tabula/daemon: the PTY daemon, the single authority on which sessions exist (SPEC §1 I1, §5).
 * STUB: implemented by issue 2 (HTTP, sessions, state) and issue 3 (live channel).
 */
import type { Component, Logger } from '@tabula/protocol/server'

export interface DaemonOptions {
  home: string
  log: Logger
  /** Bring back the sessions of the manifest on start (default true; `--no-restore`). */
  restore?: boolean
  /** Lines of scrollback each session's headless terminal keeps. */
  scrollback?: number
}

export interface DaemonComponent extends Component {
  /** True when a workspace with this id exists (the sync server refuses other rooms). */
  hasWorkspace(id: string): boolean
}

export async function createDaemon(_opts: DaemonOptions): Promise<DaemonComponent> {
  return {
    name: 'daemon',
    handleRequest: () => false,
    hasWorkspace: () => false,
    close: async () => {},
  }
}
