/**
 * A small typed event emitter that runs in Node and browsers (no `node:events`).
 *
 * `Events` maps each event name to the tuple of its listener's arguments. A listener that throws
 * does not disturb the emitter or the other listeners: the error goes to `onListenerError`.
 */

export type Listener<Args extends unknown[]> = (...args: Args) => void;

export class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<unknown>>();

  /**
   * @param onListenerError where errors thrown by listeners go; the default re-throws them from a
   *   fresh task so they surface as uncaught errors without breaking the caller's state.
   */
  constructor(private readonly onListenerError: (err: unknown) => void = rethrowLater) {}

  /** Add a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Add a listener that runs at most once. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const off = this.on(event, ((...args: Events[E]) => {
      off();
      listener(...args);
    }) as Listener<Events[E]>);
    return off;
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    set.delete(listener);
    if (set.size === 0) this.listeners.delete(event);
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[E]>)(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

function rethrowLater(err: unknown): void {
  setTimeout(() => {
    throw err;
  }, 0);
}
