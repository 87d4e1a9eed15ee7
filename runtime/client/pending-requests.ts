/**
 * Requests (`send`, `sync`) that wait for their answer, each retried with the same id until it is
 * answered, refused, or its deadline passes.
 *
 * A request is written again (same frame, same id, so the gate's idempotency window returns the
 * same seq) when:
 * - no answer came within `attemptTimeoutMs` on the current connection;
 * - the gate answered with a retryable code (`UNAVAILABLE`, `RATE_LIMITED`): after a backoff delay;
 * - the client reconnected (`resendAll`, called on `welcome`).
 * A non-retryable `error` frame rejects it with a `ProtocolError`; the deadline with `TIMEOUT`.
 * Each request has at most one timer at a time.
 */
import { type ErrorCode, ProtocolError, isRetryable } from '../protocol/errors.js';
import { type BackoffBounds, backoffDelayMs } from '../retry/backoff.js';
import { ClientError, ClientErrorCode } from './client-errors.js';

export interface PendingRequestsOptions<F> {
  /** Most bounded requests waiting at once; more are rejected with `TOO_MANY_PENDING`. */
  maxPending: number;
  /** How long to wait for an answer on a connection before writing the request again, in ms. */
  attemptTimeoutMs: number;
  /** How long a request may stay unanswered in total before it fails with `TIMEOUT`, in ms. */
  deadlineMs: number;
  /** Delays between retries after a retryable error. */
  backoff: BackoffBounds;
  /** Writes the frame when the connection is ready; returns false when it is not. */
  transmit: (frame: F) => boolean;
  /** Names the request kind in error messages ("send", "sync"). */
  kind: string;
}

type TimerKind = 'attempt' | 'deadline';

interface Entry<F, R> {
  frame: F;
  resolve: (result: R) => void;
  reject: (err: Error) => void;
  deadlineAt: number;
  retries: number;
  bounded: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  timerKind: TimerKind;
}

export class PendingRequests<F extends { id: string }, R> {
  private readonly entries = new Map<string, Entry<F, R>>();
  private boundedCount = 0;

  constructor(private readonly options: PendingRequestsOptions<F>) {}

  /** Requests waiting for an answer. */
  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Register and write a request. `bounded: false` exempts it from `maxPending` (the client's own
   * gap-fill syncs, at most one per group).
   */
  request(frame: F, bounded = true): Promise<R> {
    if (this.entries.has(frame.id)) {
      return Promise.reject(new ClientError(ClientErrorCode.DUPLICATE_ID, `a ${this.options.kind} with id ${frame.id} is already pending`));
    }
    if (bounded && this.boundedCount >= this.options.maxPending) {
      return Promise.reject(
        new ClientError(
          ClientErrorCode.TOO_MANY_PENDING,
          `${this.boundedCount} ${this.options.kind} requests are pending (the limit); wait for some to settle or raise the limit`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Entry<F, R> = {
        frame,
        resolve,
        reject,
        deadlineAt: Date.now() + this.options.deadlineMs,
        retries: 0,
        bounded,
        timer: null,
        timerKind: 'attempt',
      };
      this.entries.set(frame.id, entry);
      if (bounded) this.boundedCount++;
      this.attempt(entry);
    });
  }

  /** The answer arrived. Returns false when no request has this id (late or foreign answer). */
  settle(id: string, result: R): boolean {
    const entry = this.remove(id);
    if (entry === undefined) return false;
    entry.resolve(result);
    return true;
  }

  /** An `error` frame for this id arrived. Returns false when no request has this id. */
  fail(id: string, code: ErrorCode, message: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (!isRetryable(code)) {
      this.remove(id);
      entry.reject(new ProtocolError(code, message));
      return true;
    }
    this.arm(entry, backoffDelayMs(entry.retries++, this.options.backoff));
    return true;
  }

  /** The connection is (again) ready: write every waiting request now. */
  resendAll(): void {
    for (const entry of [...this.entries.values()]) {
      if (this.entries.get(entry.frame.id) === entry) this.attempt(entry);
    }
  }

  /** Reject every waiting request (the client closed). */
  rejectAll(err: Error): void {
    const entries = [...this.entries.values()];
    for (const entry of entries) this.remove(entry.frame.id);
    for (const entry of entries) entry.reject(err);
  }

  private attempt(entry: Entry<F, R>): void {
    const written = this.options.transmit(entry.frame);
    this.arm(entry, written ? this.options.attemptTimeoutMs : Infinity);
  }

  /** Wake up after `delayMs` to write again, or at the deadline if that comes first. */
  private arm(entry: Entry<F, R>, delayMs: number): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    const remaining = Math.max(0, entry.deadlineAt - Date.now());
    entry.timerKind = delayMs < remaining ? 'attempt' : 'deadline';
    entry.timer = setTimeout(() => this.onTimer(entry), Math.min(delayMs, remaining));
  }

  private onTimer(entry: Entry<F, R>): void {
    entry.timer = null;
    if (this.entries.get(entry.frame.id) !== entry) return;
    if (entry.timerKind === 'attempt') {
      this.attempt(entry);
      return;
    }
    this.remove(entry.frame.id);
    entry.reject(
      new ClientError(ClientErrorCode.TIMEOUT, `${this.options.kind} ${entry.frame.id} was not answered within ${this.options.deadlineMs} ms`),
    );
  }

  private remove(id: string): Entry<F, R> | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.entries.delete(id);
    if (entry.bounded) this.boundedCount--;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    return entry;
  }
}
