/**
 * Masters known to be short of replicas: the last `WAIT n` sent to one of them was answered with
 * fewer than n acknowledgements. A WAIT holds its connection until the replicas answer or its
 * timeout passes, and every command queued behind it on that connection waits too; so while a
 * master is short, only one WAIT at a time (a probe) is sent to it, and the other calls that
 * would WAIT there are refused at once, unsent. The first probe that gets its n acknowledgements
 * ends the state. Bounded: at most MAX_SHORT_MASTERS addresses are remembered (the oldest is
 * forgotten first, which only means one more WAIT may be sent to it).
 */
export const MAX_SHORT_MASTERS = 1024;

export class ShortMasters {
  /** Address → whether its probe is in flight. */
  private readonly short = new Map<string, boolean>();

  /** Is `master` known short of replicas (its calls go one probe at a time, `admit`)? */
  isShort(master: string): boolean {
    return this.short.has(master);
  }

  /**
   * May a call that WAITs on `master` go now? True when the master is not known short, or when it
   * is and no probe is in flight (this call becomes the probe: report it with `settled`).
   */
  admit(master: string): boolean {
    const probing = this.short.get(master);
    if (probing === undefined) return true;
    if (probing) return false;
    this.short.set(master, true);
    return true;
  }

  /**
   * A call admitted for `master` is over: its WAIT got enough acknowledgements, too few (or the
   * WAIT itself failed after the script ran), or the call failed before (a lost connection, a
   * moved slot: that says nothing about replicas, but a probe that failed is no longer in flight).
   */
  settled(master: string, outcome: 'enough' | 'short' | 'failed'): void {
    if (outcome === 'enough') {
      this.short.delete(master);
      return;
    }
    if (outcome === 'failed') {
      if (this.short.has(master)) this.short.set(master, false);
      return;
    }
    this.short.delete(master); // re-inserted last: the map keeps insertion order, oldest first
    this.short.set(master, false);
    if (this.short.size > MAX_SHORT_MASTERS) this.short.delete(this.short.keys().next().value as string);
  }

  get size(): number {
    return this.short.size;
  }
}
