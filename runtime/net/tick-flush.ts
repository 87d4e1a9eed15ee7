/**
 * Write coalescing per tick. The first write to a connection in a tick corks its socket and
 * registers it here; once the current task has run (every deliver frame of one read from a logic
 * link, a whole slice of a fan-out), one `process.nextTick` uncorks them all. A connection that
 * got k messages in the tick costs one `writev` instead of k system calls, and a tick's writes
 * never wait for anything but the end of the code that produced them.
 *
 * At most one entry per connection is pending (the connection remembers that it is corked), so
 * the list is bounded by the gate's connection limit.
 */

export interface Flushable {
  /** Uncork: hand everything written since the cork to the kernel. */
  flush(): void;
}

export class TickFlush {
  private pending: Flushable[] = [];
  private scheduled = false;

  /** Flush `f` at the end of this tick. The caller registers each corked connection once. */
  add(f: Flushable): void {
    this.pending.push(f);
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.run);
  }

  /** Connections waiting for the end of the tick (for tests and diagnostics). */
  get size(): number {
    return this.pending.length;
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const list = this.pending;
    this.pending = [];
    for (const f of list) f.flush();
  };
}
