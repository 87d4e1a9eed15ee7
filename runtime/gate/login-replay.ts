/**
 * A connection's login replay, retried until it is answered. Until then the connection holds its
 * live messages (bounded by IMGROUP_MAX_PENDING_DELIVERIES; overflow stays behind the user's
 * cursor and comes back with the replay). Releasing them after a failed replay would let a client
 * with no local state start a group at the first live seq and acknowledge past the backlog the
 * replay was to bring, so a failure is retried with the backoff, never given up while the
 * connection is open.
 */
import { Backoff, type BackoffBounds } from '../retry/backoff.js';
import type { Logger } from '../ops/logger.js';

/** The connection as the replay sees it. */
export interface LoginTarget {
  readonly connId: string;
  readonly isOpen: boolean;
  /** The replay was answered: release the held live messages. */
  loginDone(): void;
}

export interface LoginReplayEvents {
  /** A failed attempt, retried after `delayMs`. */
  retry(delayMs: number): void;
}

/** First retry after 200 ms–400 ms, then the window doubles up to 10 s. */
export const LOGIN_RETRY_BOUNDS: BackoffBounds = { minMs: 200, maxMs: 10_000 };

export class LoginReplays<T extends LoginTarget> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    /** One attempt: the `login` request for this connection. */
    private readonly attempt: (conn: T) => Promise<{ groups: number; delivered: number }>,
    private readonly events: LoginReplayEvents,
    private readonly log: Logger,
    private readonly bounds: BackoffBounds = LOGIN_RETRY_BOUNDS,
  ) {}

  /** Run the replay of `conn` until it is answered, the connection closes or the gate closes. */
  start(conn: T): void {
    this.run(conn, new Backoff(this.bounds));
  }

  /** Retries waiting now. */
  get waiting(): number {
    return this.timers.size;
  }

  /** Stop every retry (the gate is shutting down; its connections close). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private run(conn: T, backoff: Backoff): void {
    if (this.closed || !conn.isOpen) return;
    this.attempt(conn).then(
      (r) => {
        this.log.debug({ connId: conn.connId, groups: r.groups, delivered: r.delivered, attempts: backoff.attempts + 1 }, 'login replay done');
        conn.loginDone();
      },
      (err: Error) => {
        if (this.closed || !conn.isOpen) return;
        const delayMs = backoff.next();
        this.events.retry(delayMs);
        this.log.debug({ err: err.message, connId: conn.connId, attempt: backoff.attempts, delayMs }, 'login replay failed; live messages held, retrying');
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.run(conn, backoff);
        }, delayMs);
        timer.unref();
        this.timers.add(timer);
      },
    );
  }
}
