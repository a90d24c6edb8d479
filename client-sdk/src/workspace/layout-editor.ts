/**
 * A workspace view's layout edits (docs/sdk.md, "Editing"): each runs in one transaction on the
 * document and shows its result at once (local first); the sync channel carries it on.
 */
import {
  closeGroup,
  createGroup,
  initLayout,
  resizePane,
  splitGroup,
} from '@tabula/protocol'
import type * as Y from 'yjs'
import type { MoveTarget, SpawnOptions } from '../api.js'
import { dropTab, moveTab, placeNewTab, renameTab } from '../edits.js'
import type { TabView } from './tab-view.js'

export class LayoutEditor {
  readonly #doc: Y.Doc
  readonly #view: TabView
  readonly #synced: () => boolean
  #closedAs: string | null = null

  /** `synced`: the document has just been exchanged with the sync server. */
  constructor(doc: Y.Doc, view: TabView, synced: () => boolean) {
    this.#doc = doc
    this.#view = view
    this.#synced = synced
  }

  move(key: string, target: MoveTarget): void {
    this.#edit(() => moveTab(this.#doc, this.#view.seen(), key, target))
  }

  rename(key: string, title: string | null): void {
    this.#edit(() => renameTab(this.#doc, this.#view.seen(), key, title))
  }

  /** Places a key about to be spawned (not shown until the daemon has it). */
  placeNew(key: string, where: Pick<SpawnOptions, 'group' | 'index' | 'title'>): void {
    this.#edit(() => placeNewTab(this.#doc, this.#view.seen(), key, where))
  }

  drop(key: string): void {
    this.#edit(() => dropTab(this.#doc, key))
  }

  createGroup(): string {
    let id = ''
    this.#edit(() => {
      const groups = this.#view.seen().layout.groups
      id = createGroup(this.#doc, groups[groups.length - 1])
    })
    return id
  }

  splitGroup(group: string, dir: 'row' | 'column'): string {
    let id = ''
    this.#edit(() => (id = splitGroup(this.#doc, group, dir)))
    return id
  }

  resizePane(nodeId: string, size: number): void {
    this.#edit(() => resizePane(this.#doc, nodeId, size))
  }

  closeGroup(group: string): void {
    this.#edit(() => closeGroup(this.#doc, group))
  }

  /** From now on every edit throws `message`. */
  close(message: string): void {
    this.#closedAs = message
  }

  /** Runs layout writes in one transaction, then shows their result at once (local first). */
  #edit(write: () => void): void {
    if (this.#closedAs !== null) throw new Error(this.#closedAs)
    this.#doc.transact(() => {
      // Only on a document just exchanged with the server: "empty" then really means new. On a
      // document that is merely empty here (offline, never synced), a default group written now
      // could land beside the real tree; readers show a virtual default group meanwhile.
      if (this.#synced()) initLayout(this.#doc)
      write()
    })
    this.#view.markStale()
    this.#view.seen()
  }
}
