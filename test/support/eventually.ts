/**
 * The one polling helper of the test suite: wait for a state, never for a time. A test names
 * what it waits for, and the bound only decides how long a broken test takes to fail, so it is
 * generous (a busy 2-core machine must not trip it); nothing is asserted about how long it took.
 * Domain waits (a cursor, a metric, a lifecycle state) are thin wrappers that call this.
 */

export interface EventuallyOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between probes. Default 100 ms. */
  intervalMs?: number;
  /**
   * A probe that throws is "not yet" (e.g. a read racing a restart), and the last error is
   * reported if the bound passes. Default false: a throw ends the wait at once.
   */
  retryErrors?: boolean;
  /** More for the failure message (the state that was seen), asked once when the bound passes. */
  explain?: () => string | Promise<string>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_MS = 100;

/**
 * Poll `probe` (sync or async) until it is true; fail naming `what` after the timeout.
 * `eventually(what, probe, timeoutMs?, intervalMs?)` or `eventually(what, probe, options)`.
 */
export async function eventually(what: string, probe: () => boolean | Promise<boolean>, timeoutOrOptions?: number | EventuallyOptions, intervalMs?: number): Promise<void> {
  const o: EventuallyOptions = typeof timeoutOrOptions === 'object' ? timeoutOrOptions : { timeoutMs: timeoutOrOptions, intervalMs };
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (!o.retryErrors) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, o.intervalMs ?? DEFAULT_INTERVAL_MS));
  }
  const why = lastError === null ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  const explain = o.explain;
  const more = explain ? `\n${await Promise.resolve().then(explain).catch((err: Error) => `(could not explain: ${err.message})`)}` : '';
  throw new Error(`${what}: not true after ${timeoutMs} ms${why}${more}`);
}

