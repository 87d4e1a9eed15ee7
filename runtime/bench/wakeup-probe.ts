/**
 * How long a sleeping process waits for a core on this machine while a run goes on. A timer in
 * the benchmark's own process (idle but for it) asks to be woken every WAKE_INTERVAL_MS and
 * records how much later than asked it ran. A server process woken by a socket waits the same
 * way, so the figure is what one more process hop costs at that moment: imgroup's path has more
 * of them than the bare baseline's (gate → logic → Redis → logic → gate, against at most one
 * relay), and the p99 it adds over the baseline is a few of these waits.
 *
 * The timer's own floor is about a tenth of a millisecond (libuv counts timers in whole ms), which
 * the p50 of an idle machine shows.
 */
import { LatencyHistogram } from './latency-histogram.js';

/** Often enough for a p99 from a run of a few seconds, rarely enough to cost nothing. */
export const WAKE_INTERVAL_MS = 10;

export interface WakeupFigures {
  /** ms later than asked. */
  p50: number | null;
  p99: number | null;
  max: number | null;
  samples: number;
}

export class WakeupProbe {
  private histogram = new LatencyHistogram();
  private timer: NodeJS.Timeout | null = null;
  private dueAt = 0;

  /** Wake-ups recorded since the start. */
  get samples(): number {
    return this.histogram.count;
  }

  /** Start afresh (what an earlier start recorded is dropped). */
  start(): void {
    this.halt();
    this.histogram = new LatencyHistogram();
    this.arm(performance.now());
  }

  /** Stop (when running) and give what was recorded since the start; a second call gives the same. */
  stop(): WakeupFigures {
    this.halt();
    const h = this.histogram;
    return { p50: h.percentile(50), p99: h.percentile(99), max: h.percentile(100), samples: h.count };
  }

  private arm(fromMs: number): void {
    this.dueAt = fromMs + WAKE_INTERVAL_MS;
    this.timer = setTimeout(this.woken, WAKE_INTERVAL_MS);
    // The probe never keeps the benchmark alive on its own.
    this.timer.unref();
  }

  private readonly woken = (): void => {
    const now = performance.now();
    this.histogram.record(now - this.dueAt);
    this.arm(now);
  };

  private halt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
