/**
 * A workspace view's `ready`: resolved once the view can show something true, or rejected with
 * the daemon's reason when it refuses to show the workspace; settled once.
 */
export class Readiness {
  readonly promise: Promise<void>
  #settled = false
  #resolve!: () => void
  #reject!: (error: Error) => void

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // A program that never awaits `ready` must not crash on an unhandled rejection.
    this.promise.catch(() => {})
  }

  get settled(): boolean {
    return this.#settled
  }

  resolve(): void {
    if (this.#settled) return
    this.#settled = true
    this.#resolve()
  }

  reject(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#reject(error)
  }
}
