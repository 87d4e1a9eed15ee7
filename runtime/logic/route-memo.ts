/**
 * The last fan-out routing of each busy group (which users to name in the deliver frame to which
 * gate), reused for the group's next message while nothing it was computed from can have changed:
 *
 * - the member list is the same array the member cache handed out (a change makes a new one);
 * - no presence entry of the session cache was stored, updated or dropped since (one counter over
 *   all users, `SessionCache.presenceChanges`: a change anywhere recomputes every group once);
 * - no gate link was added or removed since (`GateLinks.generation`);
 * - no presence entry it used has passed its TTL (`freshUntilMs`, the oldest entry's read time plus
 *   the TTL), so a memo never stretches the session cache's TTL.
 *
 * A message of a 1,000-member group then skips 1,000 cache reads and the routing of 500 devices
 * (fanout-lookup.mjs: 107–206 µs per message); a group whose members' presence changes between
 * every two messages just recomputes, as it did before. Bounded by IMGROUP_ROUTE_MEMO_MAX_USERS
 * routed users over all groups (each a reference to an id string the caches already hold);
 * beyond it, groups not used since they were last considered are forgotten first.
 */

/** What a memo was computed from. */
export interface RouteStamp {
  members: readonly string[];
  presenceChanges: number;
  linksGeneration: number;
}

interface Entry<R> {
  stamp: RouteStamp;
  freshUntilMs: number;
  readAtMs: number;
  routes: R;
  users: number;
  used: boolean;
}

export class RouteMemo<R> {
  private readonly entries = new Map<string, Entry<R>>();
  private totalUsers = 0;
  hits = 0;
  misses = 0;

  /** `maxUsers`: routed users held over all groups (0 disables the memo). */
  constructor(private readonly maxUsers: number) {}

  /** The memo of `groupId` if it was computed from exactly `stamp` and is fresh at `nowMs`. */
  get(groupId: string, stamp: RouteStamp, nowMs: number): { routes: R; readAtMs: number } | undefined {
    const e = this.entries.get(groupId);
    if (
      e === undefined ||
      e.stamp.members !== stamp.members ||
      e.stamp.presenceChanges !== stamp.presenceChanges ||
      e.stamp.linksGeneration !== stamp.linksGeneration ||
      nowMs >= e.freshUntilMs
    ) {
      this.misses++;
      return undefined;
    }
    e.used = true;
    this.hits++;
    return { routes: e.routes, readAtMs: e.readAtMs };
  }

  /**
   * Remember `routes` of `groupId`, computed from `stamp` (read before the presence lookup began,
   * so a change during the lookup makes the next `get` miss) and naming `users` users.
   */
  set(groupId: string, stamp: RouteStamp, freshUntilMs: number, readAtMs: number, routes: R, users: number): void {
    this.delete(groupId);
    if (users > this.maxUsers) return;
    this.entries.set(groupId, { stamp, freshUntilMs, readAtMs, routes, users, used: false });
    this.totalUsers += users;
    this.makeRoom();
  }

  delete(groupId: string): void {
    const e = this.entries.get(groupId);
    if (!e) return;
    this.entries.delete(groupId);
    this.totalUsers -= e.users;
  }

  /** Groups memoized. */
  get size(): number {
    return this.entries.size;
  }

  /** Routed users held over all groups. */
  get users(): number {
    return this.totalUsers;
  }

  /** Second chance over insertion order: a group used since it was last considered moves to the back once. */
  private makeRoom(): void {
    let chances = this.entries.size;
    while (this.totalUsers > this.maxUsers) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [groupId, e] = first.value;
      this.entries.delete(groupId);
      if (e.used && chances > 0) {
        chances--;
        e.used = false;
        this.entries.set(groupId, e);
        continue;
      }
      this.totalUsers -= e.users;
    }
  }
}
