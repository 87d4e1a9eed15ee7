/**
 * App-level heartbeat of one connection: a `ping` every interval, and a verdict when the gate has
 * sent nothing at all (no pong, no message) for a whole interval after a ping.
 */

export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | null = null;
  /** A ping went out and nothing has arrived since. */
  private awaiting = false;

  /**
   * @param ping writes a `ping`; returns false when it could not.
   * @param onSilent called once when a ping went unanswered for `intervalMs`; the heartbeat stops.
   */
  start(intervalMs: number, ping: () => boolean, onSilent: (reason: string) => void): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.awaiting) {
        this.stop();
        onSilent(`no frame from the gate for ${intervalMs} ms after a ping`);
        return;
      }
      this.awaiting = ping();
    }, intervalMs);
  }

  /** Any frame from the gate proves the connection alive. */
  heard(): void {
    this.awaiting = false;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.awaiting = false;
  }
}
