/**
 * The bounded set of groups this node handled recently (the sweep's working set). Insertion
 * order is the visiting order: a touched or visited group moves to the end, so `next(n)` walks
 * the set round robin, and when the set is full the group at the front (neither touched nor
 * visited for the longest time) makes room.
 */
export class RecentGroups {
  /** groupId → last time the group had a message through this node (ms). */
  private readonly lastMs = new Map<string, number>();

  constructor(private readonly maxGroups: number) {}

  touch(groupId: string, nowMs: number): void {
    this.lastMs.delete(groupId);
    this.lastMs.set(groupId, nowMs);
    if (this.lastMs.size > this.maxGroups) {
      const first = this.lastMs.keys().next();
      if (!first.done) this.lastMs.delete(first.value);
    }
  }

  /**
   * Up to `n` groups to visit now, each moved to the end of the order. Groups not touched since
   * `expireBeforeMs` are dropped instead of returned; groups `skip` names stay where they are.
   */
  next(n: number, expireBeforeMs: number, skip?: (groupId: string) => boolean): string[] {
    const out: string[] = [];
    for (const [groupId, ms] of this.lastMs) {
      if (out.length >= n) break;
      if (ms < expireBeforeMs) {
        this.lastMs.delete(groupId);
        continue;
      }
      if (skip?.(groupId) === true) continue;
      out.push(groupId);
    }
    for (const groupId of out) {
      const ms = this.lastMs.get(groupId) as number;
      this.lastMs.delete(groupId);
      this.lastMs.set(groupId, ms);
    }
    return out;
  }

  forget(groupId: string): void {
    this.lastMs.delete(groupId);
  }

  has(groupId: string): boolean {
    return this.lastMs.has(groupId);
  }

  get size(): number {
    return this.lastMs.size;
  }
}
