/**
 * For tests of event-driven code: whoever records an event calls `notify()`, and the test awaits
 * `until(condition)` — woken on every notification, never polling a clock. Bound it with the
 * test's own timeout.
 */
export class ChangeSignal {
  private waiters: Array<() => void> = [];

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((r) => this.waiters.push(r));
  }
}
