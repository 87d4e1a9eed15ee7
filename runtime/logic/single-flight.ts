/**
 * Merging concurrent reads of the same key: while a read of a key is in flight, whoever asks for
 * the key again waits for that read instead of starting another. The entry is removed when the
 * read settles (success or failure), so a failed read is retried by the next caller.
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, Promise<V>>();

  /** The read in flight for `key`, or a new one started with `read`. */
  run(key: string, read: () => Promise<V>): Promise<V> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = read();
    this.share(key, started);
    return started;
  }

  /** Register `promise` as the read in flight for `key` (one read can serve many keys). */
  share(key: string, promise: Promise<V>): void {
    this.inFlight.set(key, promise);
    const done = () => {
      if (this.inFlight.get(key) === promise) this.inFlight.delete(key);
    };
    promise.then(done, done);
  }

  get(key: string): Promise<V> | undefined {
    return this.inFlight.get(key);
  }

  get size(): number {
    return this.inFlight.size;
  }
}
