/**
 * The tabs and layout a workspace view shows, derived on demand and kept until something changes:
 * the layout is read (and repaired) from the document only when the document changed; the tabs
 * are derived again from the key set and that layout whenever either changed (docs/sdk.md,
 * "How tabs are derived").
 */
import { readLayout, type LayoutView, type Session } from '@tabula/protocol'
import type * as Y from 'yjs'
import type { Tab } from '../api.js'
import { deriveTabs } from '../derive-tabs.js'
import type { SeenState } from '../edits.js'

export class TabView {
  readonly #doc: Y.Doc
  readonly #sessions: ReadonlyMap<string, Session>
  #stale = true
  #layoutStale = true
  #layout: LayoutView | null = null
  #tabs: Tab[] = []

  constructor(doc: Y.Doc, sessions: ReadonlyMap<string, Session>) {
    this.#doc = doc
    this.#sessions = sessions
  }

  /** The document changed: the layout must be read again. */
  documentChanged(): void {
    this.#layoutStale = true
    this.#stale = true
  }

  /** The key set (or anything else the tabs depend on) changed: the tabs must be derived again. */
  markStale(): void {
    this.#stale = true
  }

  /** What the viewer sees now, derived again if anything changed since the last time. */
  seen(): SeenState {
    if (this.#stale || !this.#layout) {
      this.#stale = false
      // The repair depends on the document alone; a daemon update (a title at every prompt, a
      // resize) only re-derives the tabs.
      if (this.#layoutStale || !this.#layout) {
        this.#layoutStale = false
        this.#layout = readLayout(this.#doc)
      }
      this.#tabs = deriveTabs(this.#sessions, this.#layout)
    }
    return { layout: this.#layout, tabs: this.#tabs }
  }

  /** The tabs as last derived, without deriving again (what presence publishes between changes). */
  get lastTabs(): readonly Tab[] {
    return this.#tabs
  }
}
