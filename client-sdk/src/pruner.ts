/**
 * Which layout entries to drop because their sessions are gone for good (docs/sdk.md, "Pruning").
 *
 * A viewer prunes only what it has seen with its own eyes: a key that stayed absent from the
 * daemon's live set for `graceMs` while this viewer was connected to both servers (a fresh key
 * set and a synced document). Absence seen while offline does not count; going offline restarts
 * every clock. The grace covers the moments when a key is briefly unknown although it will be
 * live: a spawn places its entry just before the daemon announces the key, a restart closes and
 * re-creates the same key, and a restarted daemon brings its sessions back under their keys.
 *
 * Pruning only ever removes entries that no viewer shows (I7 in docs/architecture.md already
 * hides them), so a wrong guess costs a placement and a custom title, never a tab.
 */
export class Pruner {
  readonly #absentSince = new Map<string, number>()
  readonly #graceMs: number
  readonly #now: () => number

  constructor(graceMs: number, now: () => number = Date.now) {
    this.#graceMs = graceMs
    this.#now = now
  }

  /**
   * Feeds the current picture; returns the layout keys to remove now. `online` must be true only
   * when the key set is fresh from the daemon and the document is synced.
   */
  review(online: boolean, liveKeys: ReadonlySet<string> | ReadonlyMap<string, unknown>, layoutKeys: Iterable<string>): string[] {
    if (!online) {
      this.#absentSince.clear()
      return []
    }
    const t = this.#now()
    const due: string[] = []
    const stillAbsent = new Set<string>()
    for (const key of layoutKeys) {
      if (liveKeys.has(key)) continue
      stillAbsent.add(key)
      const since = this.#absentSince.get(key)
      if (since === undefined) this.#absentSince.set(key, t)
      else if (t - since >= this.#graceMs) due.push(key)
    }
    for (const key of [...this.#absentSince.keys()]) if (!stillAbsent.has(key) || due.includes(key)) this.#absentSince.delete(key)
    return due
  }

  /** When the earliest clock runs out, in ms from now (null when nothing is waiting). */
  nextDueIn(): number | null {
    let earliest: number | null = null
    for (const since of this.#absentSince.values()) if (earliest === null || since < earliest) earliest = since
    return earliest === null ? null : Math.max(0, earliest + this.#graceMs - this.#now())
  }
}
