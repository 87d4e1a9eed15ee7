/**
 * A de-duplicating, rate-limited work queue (client-go's workqueue): a key is queued at most once;
 * a key being processed is not handed out again until `done`, and a key added meanwhile is
 * queued once it is done. `addAfter` delays an add (the earliest pending one of a key wins);
 * `addRateLimited` delays by an exponential per-key backoff
 * (baseDelayMs × 2^failures, capped at maxDelayMs) until `forget`. Bounded: beyond `maxDepth`
 * queued keys `add` refuses (returns false) and the periodic resync brings the key back.
 */
export interface WorkQueueOptions {
  /** Default 5 ms. */
  baseDelayMs?: number;
  /** Default 300000 ms. */
  maxDelayMs?: number;
  /** Default 100000 keys. */
  maxDepth?: number;
  onAdd?: () => void;
  onRetry?: () => void;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Pending delayed adds: one per key, the earliest. */
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; dueMs: number }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxDepth: number;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.maxDepth = opts.maxDepth ?? 100_000;
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): boolean {
    if (this.shuttingDown) return false;
    if (this.queued.has(key) || this.dirty.has(key)) return true;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return true;
    }
    if (this.queue.length >= this.maxDepth) return false;
    this.opts.onAdd?.();
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      waiter(key);
      return true;
    }
    this.queue.push(key);
    this.queued.add(key);
    this.opts.onDepth?.(this.queue.length);
    return true;
  }

  /**
   * Add after `delayMs`. A key has at most one pending delayed add, and the earliest wins (as in
   * client-go's delaying queue): a retry due in 5 ms replaces a requeue due in 30 s, while a later
   * add of a key already due sooner changes nothing.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueMs = performance.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending) {
      if (pending.dueMs <= dueMs) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { timer, dueMs });
  }

  /** Add after the key's next backoff delay. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.opts.onRetry?.();
    this.addAfter(key, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 40)));
  }

  /** Reset the key's backoff (after a success or a terminal error). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once shut down. Call `done(key)` after processing it. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      this.opts.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
