/**
 * The one emitter of the codebase, browser-safe so that every package can use it. `Listeners` is
 * the listeners of one event (a terminal's data, a connection's state); `Emitter` keys several of
 * them by event name for an events interface (a workspace view's `on`). A listener is removed
 * through the disposable `add`/`on` returns, and a listener that throws is reported (rethrown on
 * a later task, or handed to the `onError` given) without stopping the others or the
 * bookkeeping of whoever emits.
 */

export interface Disposable {
  dispose(): void
}

export class Listeners<T extends unknown[]> {
  readonly #set = new Set<(...args: T) => void>()
  readonly #onError: (error: unknown) => void

  /** `onError`: where a throwing listener's error goes (a server logs it rather than crash). */
  constructor(onError: (error: unknown) => void = rethrowLater) {
    this.#onError = onError
  }

  add(listener: (...args: T) => void): Disposable {
    this.#set.add(listener)
    return { dispose: () => void this.#set.delete(listener) }
  }

  get size(): number {
    return this.#set.size
  }

  emit(...args: T): void {
    for (const listener of [...this.#set]) {
      try {
        listener(...args)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  clear(): void {
    this.#set.clear()
  }
}

export class Emitter<Events extends { [E in keyof Events]: (...args: never[]) => void }> {
  readonly #byEvent = new Map<keyof Events, Listeners<never[]>>()

  on<E extends keyof Events>(event: E, listener: Events[E]): Disposable {
    let listeners = this.#byEvent.get(event)
    if (!listeners) this.#byEvent.set(event, (listeners = new Listeners()))
    return listeners.add(listener as (...args: never[]) => void)
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.#byEvent.get(event)?.emit(...(args as never[]))
  }

  clear(): void {
    this.#byEvent.clear()
  }
}

function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error
  })
}
