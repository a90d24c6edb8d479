/** A small typed event emitter: listeners per event name, each removed through its disposable. */
export class Emitter<Events extends { [E in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>()

  on<E extends keyof Events>(event: E, listener: Events[E]): { dispose(): void } {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener)
    return { dispose: () => void set.delete(listener) }
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        ;(listener as (...a: Parameters<Events[E]>) => void)(...args)
      } catch (error) {
        // One faulty listener must not stop the others, nor the SDK's own bookkeeping.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  clear(): void {
    this.listeners.clear()
  }
}
