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

export class SessionCommands {
  readonly #workspace: string
  readonly #http: DaemonClient
  readonly #keySet: LiveKeySet
  readonly #doc: Y.Doc
  readonly #view: TabView
  readonly #editor: LayoutEditor
  readonly #waits: Waits

  constructor(
    workspace: string,
    http: DaemonClient,
    keySet: LiveKeySet,
    layout: { doc: Y.Doc; view: TabView; editor: LayoutEditor },
    waits: Waits,
  ) {
    this.#workspace = workspace
    this.#http = http
    this.#keySet = keySet
    this.#doc = layout.doc
    this.#view = layout.view
    this.#editor = layout.editor
    this.#waits = waits
  }

  async spawn(options: SpawnOptions): Promise<string> {
    const key = options.key ?? newTabKey()
    const live = this.#keySet.sessions
    const wasLive = live.has(key)
    // Placed before the daemon is asked, so the tab appears where asked the moment it exists.
    // Until then the entry has no live key and nobody shows it (I7).
    this.#editor.edit(() => placeNewTab(this.#doc, this.#view.seen(), key, options))
    try {
      const request: Record<string, unknown> = { key }
      for (const field of SPAWN_FIELDS) if (options[field] !== undefined) request[field] = options[field]
      await this.#http.spawn(this.#workspace, request as SpawnRequest)
    } catch (error) {
      if (!wasLive) this.#drop(key)
      throw error
    }
    await this.#waits.until(() => live.has(key))
    return key
  }

  async close(key: string): Promise<void> {
    await this.#closeIfLive(key)
    this.#drop(key)
    await this.#waits.until(() => !this.#keySet.sessions.has(key))
  }

  async restart(key: string): Promise<void> {
    const old = this.#keySet.sessions.get(key)
    if (!old) throw new Error(`restart: "${key}" is not a live session of workspace ${this.#workspace}`)
    // The layout entry stays: the key comes back at once, well within the pruning grace.
    await this.#closeIfLive(key)
    await this.#http.spawn(this.#workspace, { key, command: old.command, args: old.args, cwd: old.cwd })
    await this.#waits.until(() => {
      const now = this.#keySet.sessions.get(key)
      return now !== undefined && (now.pid !== old.pid || now.createdAt !== old.createdAt)
    })
  }

  #drop(key: string): void {
    this.#editor.edit(() => dropTab(this.#doc, key))
  }

  /** Closing a key that is already gone is not an error. */
  async #closeIfLive(key: string): Promise<void> {
    try {
      await this.#http.close(this.#workspace, key)
    } catch (error) {
      if (!(error instanceof DaemonError && error.status === 404)) throw error
    }
  }
}
