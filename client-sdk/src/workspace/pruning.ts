/**
 * Pruning as a workspace view runs it (docs/sdk.md, "Pruning"): after every change the Pruner
 * (pruner.ts) is shown what this viewer sees, the entries it finds due are removed in one
 * transaction, and a timer brings the view back when the next clock runs out.
 */
import { removeTab, titledKeys, type LayoutView, type Session } from '@tabula/protocol'
import type * as Y from 'yjs'
import { Pruner } from '../pruner.js'

/** The origin of the SDK's pruning transactions (for tools that watch the document). */
export const PRUNE_ORIGIN = Symbol('tabula.prune')

export class LayoutPruning {
  readonly #doc: Y.Doc
  readonly #pruner: Pruner
  readonly #wake: () => void
  #timer: ReturnType<typeof setTimeout> | null = null
  #stopped = false

  /** `wake`: called when the next clock has run out, to review again. */
  constructor(doc: Y.Doc, graceMs: number, wake: () => void) {
    this.#doc = doc
    this.#pruner = new Pruner(graceMs)
    this.#wake = wake
  }

  /** `online`: the key set is fresh from the daemon and the document synced. */
  review(online: boolean, live: ReadonlyMap<string, Session>, layout: LayoutView): void {
    this.#clearTimer()
    const stored = new Set([...layout.placements.keys(), ...titledKeys(this.#doc)])
    const due = this.#pruner.review(online, live, stored)
    if (due.length > 0) {
      this.#doc.transact(() => {
        for (const key of due) removeTab(this.#doc, key)
      }, PRUNE_ORIGIN)
    }
    const next = this.#pruner.nextDueIn()
    if (next !== null && !this.#stopped) {
      this.#timer = setTimeout(() => {
        this.#timer = null
        this.#wake()
      }, next + 1)
    }
  }

  stop(): void {
    this.#stopped = true
    this.#clearTimer()
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }
}
