/**
 * Cumulative acknowledgements the way runtime/client sends them: a (connection, group) whose
 * contiguous seq advanced is marked, and `delayMs` after the first mark every marked pair sends
 * one `ack` with its highest contiguous seq. So a member acks at most once per delay and group,
 * however many messages arrive meanwhile.
 */

export interface Ackable {
  /** Highest contiguous seq received. */
  readonly contiguous: number;
  /** Highest seq acknowledged so far. */
  acked: number;
  /** Write the ack frame; false when the connection is gone. */
  writeAck(seq: number): boolean;
}

export class AckCoalescer {
  private readonly due = new Set<Ackable>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Ack frames written. */
  sent = 0;

  constructor(private readonly delayMs: number) {}

  /** `target` advanced (or the gate resent something it has: `force` re-acks the same seq). */
  mark(target: Ackable, force = false): void {
    if (force) target.acked = Math.min(target.acked, target.contiguous - 1);
    if (target.contiguous <= target.acked) return;
    this.due.add(target);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Send every waiting ack now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.due) {
      if (t.contiguous > t.acked && t.contiguous >= 1 && t.writeAck(t.contiguous)) {
        t.acked = t.contiguous;
        this.sent++;
      }
    }
    this.due.clear();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }
}
