/**
 * Delivery latency by second of sending: one LatencyHistogram per wall-clock second in which the
 * measured messages were sent, so a report can tell a tail spread evenly over the run from one
 * set by a burst (a few seconds that hold most of the slowest deliveries). Seconds are absolute
 * (epoch seconds), so the timelines of every client worker merge; the report numbers them from
 * the run's first second.
 *
 * Bounded: at most `maxSeconds` seconds are kept (an hour by default); deliveries of messages
 * sent later count in the run's histogram but not here.
 */
import { type HistogramSnapshot, LatencyHistogram } from './latency-histogram.js';

export const MAX_TIMELINE_SECONDS = 3600;

/** What a worker sends back: [epoch second, histogram] pairs. */
export type TimelineSnapshot = Array<[number, HistogramSnapshot]>;

export interface SecondFigures {
  /** Seconds since the first second of the run (0-based). */
  second: number;
  deliveries: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface TimelineFigures {
  bySecond: SecondFigures[];
  /**
   * The second that holds the most deliveries slower than the run's p99, and which share of all
   * such deliveries it holds (1 % of a run's deliveries are that slow; a share far above
   * 1 / seconds means the p99 is set by that burst). Null without deliveries above the p99.
   */
  worst: (SecondFigures & { slowestShare: number }) | null;
}

export class LatencyTimeline {
  private readonly seconds = new Map<number, LatencyHistogram>();
  /** The second recorded last and its histogram: deliveries come mostly in send order, so most skip the map lookup (epoch seconds are past V8's small integers: each lookup hashes a heap number). */
  private lastSecond = Number.NaN;
  private last: LatencyHistogram | undefined;

  constructor(private readonly maxSeconds = MAX_TIMELINE_SECONDS) {}

  record(sentAtMs: number, latencyMs: number): void {
    if (!Number.isFinite(sentAtMs)) return;
    const second = Math.floor(sentAtMs / 1000);
    if (second !== this.lastSecond) {
      this.last = this.histogramOf(second);
      this.lastSecond = second;
    }
    this.last?.record(latencyMs);
  }

  snapshot(): TimelineSnapshot {
    return [...this.seconds.entries()].map(([s, h]) => [s, h.snapshot()]);
  }

  /** Add another timeline's samples. Malformed entries (from an untrusted snapshot) are skipped. */
  merge(snapshot: TimelineSnapshot): void {
    for (const entry of snapshot) {
      const [s, h] = entry;
      if (Number.isSafeInteger(s)) this.histogramOf(s)?.merge(h);
    }
  }

  /** Per-second figures, and the second that holds most of the deliveries slower than `runP99Ms`. */
  figures(runP99Ms: number | null): TimelineFigures {
    const entries = [...this.seconds.entries()].sort((a, b) => a[0] - b[0]);
    const first = entries[0]?.[0] ?? 0;
    const bySecond = entries.map(([s, h]): SecondFigures => ({ second: s - first, deliveries: h.count, p50: h.percentile(50), p99: h.percentile(99), max: h.max }));
    if (runP99Ms === null) return { bySecond, worst: null };
    const above = entries.map(([, h]) => h.countAbove(runP99Ms));
    const total = above.reduce((n, k) => n + k, 0);
    if (total === 0) return { bySecond, worst: null };
    let at = 0;
    above.forEach((k, i) => {
      if (k > (above[at] as number)) at = i;
    });
    return { bySecond, worst: { ...(bySecond[at] as SecondFigures), slowestShare: (above[at] as number) / total } };
  }

  private histogramOf(second: number): LatencyHistogram | undefined {
    let h = this.seconds.get(second);
    if (h) return h;
    if (this.seconds.size >= this.maxSeconds) return undefined;
    h = new LatencyHistogram();
    this.seconds.set(second, h);
    return h;
  }
}
