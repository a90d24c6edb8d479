/**
 * How a workspace view writes its layout (docs/sdk.md, "Inside a workspace view"): each edit (edits.ts, or a
 * layout function of the protocol) runs in one transaction on the document and shows its result
 * at once (local first); the sync channel carries it on.
 */
import { initLayout } from '@tabula/protocol'
import type * as Y from 'yjs'
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

  /** Runs `write` in one transaction, then derives what the viewer sees at once. */
  edit<T>(write: () => T): T {
    if (this.#closedAs !== null) throw new Error(this.#closedAs)
    let result!: T
    this.#doc.transact(() => {
      // Only on a document just exchanged with the server: "empty" then really means new. On a
      // document that is merely empty here (offline, never synced), a default group written now
      // could land beside the real tree; readers show a virtual default group meanwhile.
      if (this.#synced()) initLayout(this.#doc)
      result = write()
    })
    this.#view.markStale()
    this.#view.seen()
    return result
  }

  /** From now on every edit throws `message`. */
  close(message: string): void {
    this.#closedAs = message
  }
}
