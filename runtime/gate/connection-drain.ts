/**
 * The drain of a gate that was told to stop: its client connections are closed with 1001 spread
 * evenly over a window, so that the clients' reconnects reach the other gates as a steady stream
 * rather than one storm. Each connection, at its turn, stops taking frames; it is closed once its
 * requests in flight are answered (their answers reach the client before its 1001), or when its
 * wait for them runs out. Connections that close by themselves meanwhile are simply skipped.
 *
 * Turns are computed from elapsed time, not counted ticks: if the event loop is late, the
 * connections whose turn has passed are closed together, and the drain never takes longer than
 * its window plus the last connection's wait.
 */

/** What the drain needs of a connection (ClientConnection). */
export interface Drainable {
  readonly requestsInFlight: number;
  readonly isClosed: boolean;
  /** Ignore further frames from the client. */
  stopTaking(): void;
  close(code: number): void;
}

export interface DrainOptions {
  /** Closes are spread over this many ms (0 = all at once). */
  windowMs: number;
  /** A connection waits at most this long after its turn for its requests in flight. */
  inFlightWaitMs: number;
  /** The close code sent (1001). */
  closeCode: number;
  /** How often due turns and finished requests are looked at, ms. */
  tickMs?: number;
}

export interface DrainCounters {
  /** One connection closed by the drain; `waited` when it had requests in flight at its turn. */
  drained(waited: boolean): void;
}

const DEFAULT_TICK_MS = 10;

/** The turn of connection `index` of `count`, in ms after the drain began: evenly spaced, the first at 0. */
export function drainOffsetMs(index: number, count: number, windowMs: number): number {
  if (count <= 1 || windowMs <= 0) return 0;
  return Math.floor((index * windowMs) / count);
}

/** Close `conns` spread over the window; resolves once every one of them is closed or being closed. */
export function drainConnections(conns: readonly Drainable[], opts: DrainOptions, counters: DrainCounters): Promise<void> {
  const tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
  const startMs = performance.now();
  let next = 0;
  /** Connections whose turn came while requests were in flight → the time of their turn. */
  const waiting = new Map<Drainable, number>();

  const closeNow = (conn: Drainable, waited: boolean): void => {
    conn.close(opts.closeCode);
    counters.drained(waited);
  };

  const step = (): boolean => {
    const now = performance.now();
    while (next < conns.length && drainOffsetMs(next, conns.length, opts.windowMs) <= now - startMs) {
      const conn = conns[next++] as Drainable;
      if (conn.isClosed) continue;
      conn.stopTaking();
      if (conn.requestsInFlight === 0) closeNow(conn, false);
      else waiting.set(conn, now);
    }
    for (const [conn, turnMs] of waiting) {
      if (conn.isClosed) waiting.delete(conn);
      else if (conn.requestsInFlight === 0 || now - turnMs >= opts.inFlightWaitMs) {
        waiting.delete(conn);
        closeNow(conn, true);
      }
    }
    return next >= conns.length && waiting.size === 0;
  };

  return new Promise<void>((resolve) => {
    const loop = (): void => {
      if (step()) resolve();
      else setTimeout(loop, tickMs);
    };
    loop();
  });
}
