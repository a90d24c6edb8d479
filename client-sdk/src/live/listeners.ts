import type { Disposable } from './types.js'

/** A set of listeners; a throwing listener is reported and never stops the others. */
export class Listeners<T extends unknown[]> {
  private readonly set = new Set<(...args: T) => void>()

  add(listener: (...args: T) => void): Disposable {
    this.set.add(listener)
    return { dispose: () => void this.set.delete(listener) }
  }

  get size(): number {
    return this.set.size
  }

  emit(...args: T): void {
    for (const listener of [...this.set]) {
      try {
        listener(...args)
      } catch (err) {
        setTimeout(() => {
          throw err
        })
      }
    }
  }

  clear(): void {
    this.set.clear()
  }
}
