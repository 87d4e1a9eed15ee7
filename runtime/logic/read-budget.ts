/**
 * The node-wide bound on log reads: the bytes of log pages this logic node has asked Redis for
 * and not yet received stay within `maxBytes`. Every read reserves its byte budget first (a page
 * never exceeds what it reserved, see log-page.ts) and releases it when the reply is in. A
 * reservation that does not fit waits, first come first served, at most `waitMs`; then it is
 * refused with UNAVAILABLE (retryable). A reservation larger than the whole budget (one message
 * bigger than a page) is granted only while nothing else is in flight.
 *
 * So the reply buffers that this node can make a Redis node hold at once are bounded by
 * `maxBytes` (plus one message when that message alone is larger).
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';

export interface ReadBudgetOptions {
  maxBytes: number;
  waitMs: number;
}

/** What the budget reports (metrics). */
export interface ReadBudgetCounters {
  admitted(how: 'immediate' | 'waited'): void;
  refused(): void;
}

export interface Lease {
  readonly bytes: number;
  /** Give the bytes back; later calls do nothing. */
  release(): void;
}

interface Waiter {
  bytes: number;
  grant(): void;
}

export class ReadBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly opts: ReadBudgetOptions,
    private readonly counters: ReadBudgetCounters,
  ) {}

  /** Bytes reserved right now. */
  get inFlight(): number {
    return this.used;
  }

  /** Reservations waiting right now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Reserve `bytes`; resolves to a lease, or rejects with UNAVAILABLE after waitMs (or at once
   * when `signal` is aborted).
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<Lease> {
    if (!Number.isSafeInteger(bytes) || bytes < 1) return Promise.reject(new RangeError(`a log read reserves at least 1 byte, not ${bytes}`));
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.counters.admitted('immediate');
      return Promise.resolve(this.lease(bytes));
    }
    if (signal?.aborted) {
      this.counters.refused();
      return Promise.reject(this.refusal());
    }
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = () => settle(false);
      const timer = setTimeout(() => settle(false), this.opts.waitMs);
      const waiter: Waiter = { bytes, grant: () => settle(true) };
      const settle = (granted: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        if (granted) {
          this.counters.admitted('waited');
          resolve(this.lease(bytes));
        } else {
          this.counters.refused();
          reject(this.refusal());
          // A large waiter that gave up may have blocked smaller ones behind it.
          this.wake();
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.opts.maxBytes;
  }

  private lease(bytes: number): Lease {
    this.used += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.used -= bytes;
        this.wake();
      },
    };
  }

  /** Grant waiting reservations in arrival order while they fit. */
  private wake(): void {
    for (;;) {
      const first = this.waiters[0];
      if (!first || !this.fits(first.bytes)) return;
      // grant() removes the waiter and takes its bytes.
      first.grant();
    }
  }

  private refusal(): ProtocolError {
    return new ProtocolError(
      ErrorCode.UNAVAILABLE,
      `this logic node has ${this.opts.maxBytes} bytes of log reads in flight (IMGROUP_LOGIC_LOG_READ_MAX_BYTES) and the read waited ${this.opts.waitMs} ms; retry later`,
    );
  }
}
