/**
 * Log lines for events that anyone who can reach a port can repeat at will: refused connections,
 * bad tokens, handshakes that never finish. Each such event is counted in a metric; the log
 * only shows that it happens. Per kind of event, the first one is logged at once; further ones
 * within `intervalMs` are only counted, and when the interval ends one line says how many there
 * were (and the interval starts over while they keep coming). However fast the attempts, a kind
 * costs at most one line at its start and one per interval.
 *
 * Kinds are a small closed set chosen by the caller (a reason, never an address or an id): one
 * entry each, so the state stays bounded.
 */
import type { Logger } from './logger.js';

export type ThrottledLevel = 'warn' | 'info';

interface Window {
  msg: string;
  /** Fields of the latest event, repeated on the summary line. */
  fields: Record<string, unknown>;
  suppressed: number;
  timer: NodeJS.Timeout;
}

export class ThrottledLog {
  private readonly windows = new Map<string, Window>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    /** At most one line per kind per this many ms (plus the first); 0 logs every event. */
    private readonly intervalMs: number,
    private readonly level: ThrottledLevel = 'warn',
  ) {}

  /** One event of `kind`: logged now, or counted for the summary line at the end of the interval. */
  event(kind: string, fields: Record<string, unknown>, msg: string): void {
    if (this.closed) return;
    const open = this.windows.get(kind);
    if (open !== undefined) {
      open.suppressed++;
      open.fields = fields;
      return;
    }
    this.log[this.level]({ ...fields, kind }, msg);
    if (this.intervalMs <= 0) return;
    this.openWindow(kind, msg, fields);
  }

  /** Stop: summaries still pending are logged now, and no timer stays behind. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [kind, w] of this.windows) {
      clearTimeout(w.timer);
      this.summarize(kind, w);
    }
    this.windows.clear();
  }

  private openWindow(kind: string, msg: string, fields: Record<string, unknown>): void {
    const timer = setTimeout(() => this.endWindow(kind), this.intervalMs);
    timer.unref();
    this.windows.set(kind, { msg, fields, suppressed: 0, timer });
  }

  private endWindow(kind: string): void {
    const w = this.windows.get(kind);
    if (w === undefined) return;
    this.windows.delete(kind);
    if (w.suppressed === 0) return;
    this.summarize(kind, w);
    // Still coming: the next interval collects them too, so a steady flood is one line per interval.
    this.openWindow(kind, w.msg, w.fields);
  }

  private summarize(kind: string, w: Window): void {
    if (w.suppressed === 0) return;
    this.log[this.level]({ ...w.fields, kind, suppressed: w.suppressed, intervalMs: this.intervalMs }, `${w.msg} (${w.suppressed} more not logged)`);
  }
}
