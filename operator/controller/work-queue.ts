/**
 * A rate-limited work queue with client-go's workqueue semantics:
 * - `dirty` holds every key that needs processing, `processing` the keys handed out and not yet
 *   `done`. A key is queued at most once; a key added while it is processed is not handed out
 *   again (one worker per key) but queued once, when `done` is called.
 * - `addAfter` delays an add; a key has at most one pending delayed add and the earliest wins.
 * - `addRateLimited` delays by the key's next backoff delay (runtime/retry/backoff.ts: exponential
 *   with full jitter between `minDelayMs` and `maxDelayMs`); `forget` resets the key's backoff,
 *   `retries` counts the rate-limited adds since.
 * - `shutDown`: no more adds; waiting `get`s resolve undefined.
 * Bounded: beyond `maxDepth` queued keys `add` refuses (returns false) and the informers' periodic
 * resync brings the key back.
 */
import { Backoff, type BackoffBounds } from '../../runtime/retry/backoff.js';

export interface WorkQueueOptions {
  /** Shortest rate-limited delay and the base of its exponential window. Default 5 ms. */
  minDelayMs?: number;
  /** Longest rate-limited delay. Default 300000 ms. */
  maxDelayMs?: number;
  /** Queued keys at most. Default 100000 keys. */
  maxDepth?: number;
  /** A number in [0, 1) for the backoff's jitter. Default Math.random. */
  random?: () => number;
  /** Every key accepted by `add` (workqueue_adds_total). */
  onAdd?: () => void;
  /** Every rate-limited add (workqueue_retries_total). */
  onRetry?: () => void;
  /** The queue's depth after every change (workqueue_depth). */
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  /** Keys waiting to be handed out, in order; each is also in `dirty`. */
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly backoffs = new Map<string, Backoff>();
  /** Pending delayed adds: one per key, the earliest. */
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; dueMs: number }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly bounds: BackoffBounds;
  private readonly maxDepth: number;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.bounds = { minMs: opts.minDelayMs ?? 5, maxMs: opts.maxDelayMs ?? 300_000 };
    this.maxDepth = opts.maxDepth ?? 100_000;
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Queue `key` (once). False when shut down or full. */
  add(key: string): boolean {
    if (this.shuttingDown) return false;
    if (this.dirty.has(key)) return true;
    if (!this.processing.has(key) && this.queue.length >= this.maxDepth) return false;
    this.dirty.add(key);
    this.opts.onAdd?.();
    if (this.processing.has(key)) return true; // queued by done()
    this.enqueue(key);
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
    let backoff = this.backoffs.get(key);
    if (!backoff) {
      backoff = new Backoff(this.bounds, this.opts.random);
      this.backoffs.set(key, backoff);
    }
    this.opts.onRetry?.();
    this.addAfter(key, backoff.next());
  }

  /** Reset the key's backoff (after a success or a terminal error). */
  forget(key: string): void {
    this.backoffs.delete(key);
  }

  /** Rate-limited adds of the key since it was last forgotten. */
  retries(key: string): number {
    return this.backoffs.get(key)?.attempts ?? 0;
  }

  /** The next key to process, or undefined once shut down. Call `done(key)` after processing it. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.handOut(key);
      this.opts.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of `key` is over; if it was added meanwhile, it is queued now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** A dirty key not being processed: to a waiting worker, else to the end of the queue. */
  private enqueue(key: string): void {
    const waiter = this.shuttingDown ? undefined : this.waiters.shift();
    if (waiter) {
      this.handOut(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.opts.onDepth?.(this.queue.length);
  }

  private handOut(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }
}
