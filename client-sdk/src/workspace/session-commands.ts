/**
 * What a workspace view asks the daemon to do (docs/sdk.md, "Inside a workspace view"): the daemon decides
 * existence, so each command calls the HTTP API, places or drops the layout entry, and resolves
 * once the live key set shows the result (or can no longer tell).
 */
import { DaemonError, newTabKey, type DaemonClient, type SpawnRequest } from '@tabula/protocol'
import type * as Y from 'yjs'
import type { SpawnOptions } from '../api.js'
import { dropTab, placeNewTab } from '../edits.js'
import type { LiveKeySet } from '../key-set.js'
import type { LayoutEditor } from './layout-editor.js'
import type { TabView } from './tab-view.js'
import type { Waits } from './waits.js'

/** What a spawn passes on to the daemon when given (group, index and title are the layout's). */
const SPAWN_FIELDS = ['command', 'args', 'cwd', 'env', 'cols', 'rows', 'closeOnExit'] as const satisfies ReadonlyArray<
  keyof SpawnOptions & keyof SpawnRequest
>

export interface SessionCommands {
  spawn(options: SpawnOptions): Promise<string>
  close(key: string): Promise<void>
  restart(key: string): Promise<void>
}

export function sessionCommands(
  workspace: string,
  http: DaemonClient,
  keySet: LiveKeySet,
  { doc, view, editor }: { doc: Y.Doc; view: TabView; editor: LayoutEditor },
  waits: Waits,
): SessionCommands {
  const drop = (key: string) => editor.edit(() => dropTab(doc, key))
  /** Closing a key that is already gone is not an error. */
  const closeIfLive = async (key: string) => {
    try {
      await http.close(workspace, key)
    } catch (error) {
      if (!(error instanceof DaemonError && error.status === 404)) throw error
    }
  }
  return {
    async spawn(options) {
      const key = options.key ?? newTabKey()
      const live = keySet.sessions
      const wasLive = live.has(key)
      // Placed before the daemon is asked, so the tab appears where asked the moment it exists.
      // Until then the entry has no live key and nobody shows it (I7).
      editor.edit(() => placeNewTab(doc, view.seen(), key, options))
      try {
        const request: Record<string, unknown> = { key }
        for (const field of SPAWN_FIELDS) if (options[field] !== undefined) request[field] = options[field]
        await http.spawn(workspace, request as SpawnRequest)
      } catch (error) {
        if (!wasLive) drop(key)
        throw error
      }
      await waits.until(() => live.has(key))
      return key
    },

    async close(key) {
      await closeIfLive(key)
      drop(key)
      await waits.until(() => !keySet.sessions.has(key))
    },

    async restart(key) {
      const old = keySet.sessions.get(key)
      if (!old) throw new Error(`restart: "${key}" is not a live session of workspace ${workspace}`)
      // The layout entry stays: the key comes back at once, well within the pruning grace.
      await closeIfLive(key)
      await http.spawn(workspace, { key, command: old.command, args: old.args, cwd: old.cwd })
      await waits.until(() => {
        const now = keySet.sessions.get(key)
        return now !== undefined && (now.pid !== old.pid || now.createdAt !== old.createdAt)
      })
    },
  }
}
