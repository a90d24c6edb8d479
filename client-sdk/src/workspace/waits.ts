/**
 * Promises that resolve once a condition on the key set holds ("the spawned key is live"),
 * checked after every change; or as soon as the key set can no longer tell (the live channel
 * dropped, the view closed), so that nothing waits forever.
 */
export class Waits {
  readonly #waiting = new Set<() => boolean>()
  readonly #hopeless: () => boolean

  constructor(hopeless: () => boolean) {
    this.#hopeless = hopeless
  }

  until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.#hopeless() || done()) {
          resolve()
          return true
        }
        return false
      }
      if (!check()) this.#waiting.add(check)
    })
  }

  /** Something changed: resolve every wait whose condition now holds. */
  check(): void {
    for (const check of [...this.#waiting]) if (check()) this.#waiting.delete(check)
  }

  /** Resolves every wait (`hopeless` must hold by now, e.g. the view is closed). */
  releaseAll(): void {
    this.check()
    this.#waiting.clear()
  }
}
