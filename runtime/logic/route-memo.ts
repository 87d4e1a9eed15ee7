/**
 * The last fan-out routing of each busy group (which users to name in the deliver frame to which
 * gate), reused for the group's next message while nothing it was computed from can have changed:
 *
 * - the member list is the same array the member cache handed out (a change makes a new one);
 * - no presence entry of the session cache was stored, updated or dropped since (one counter over
 *   all users, `SessionCache.presenceChanges`: a change anywhere recomputes every group once);
 * - no gate link was added or removed since (`GateLinks.generation`);
 * - no presence entry it used is due for renewal (`freshUntilMs`, the oldest entry's read time
 *   plus nine tenths of the TTL, see presence-cache.ts), so a memo never stretches the session
 *   cache's TTL, and the lookups that renew a busy group's entries before they run out happen.
 *
 * A message of a 1,000-member group then skips 1,000 cache reads and the routing of 500 devices
 * (fanout-lookup.mjs: 107–206 µs per message); a group whose members' presence changes between
 * every two messages just recomputes, as it did before. Bounded by IMGROUP_ROUTE_MEMO_MAX_USERS
 * routed users over all groups (each a reference to an id string the caches already hold), and
 * as many groups; beyond it, groups are forgotten by the session cache's own eviction
 * (ttl-lru-cache.ts: second chance for groups used since they were last considered).
 */
import { TtlLruCache } from './ttl-lru-cache.js';

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
}

export class RouteMemo<R> {
  /** Null when disabled (maxUsers 0). Freshness is per entry (`freshUntilMs`), so the cache's own TTL never ends one. */
  private readonly entries: TtlLruCache<Entry<R>, 'routes'> | null;
  hits = 0;
  misses = 0;

  /** `maxUsers`: routed users held over all groups, and groups held (0 disables the memo). */
  constructor(maxUsers: number) {
    this.entries =
      maxUsers > 0
        ? new TtlLruCache<Entry<R>, 'routes'>({ ttlMs: Number.POSITIVE_INFINITY, maxEntries: maxUsers, maxBytes: maxUsers, sizeOf: (_id, e) => e.users, now: () => 0 })
        : null;
  }

  /** The memo of `groupId` if it was computed from exactly `stamp` and is fresh at `nowMs`. */
  get(groupId: string, stamp: RouteStamp, nowMs: number): { routes: R; readAtMs: number } | undefined {
    const found = this.entries?.get('routes', groupId);
    const e = found?.state === 'hit' ? found.value : undefined;
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
    this.hits++;
    return { routes: e.routes, readAtMs: e.readAtMs };
  }

  /**
   * Remember `routes` of `groupId`, computed from `stamp` (read before the presence lookup began,
   * so a change during the lookup makes the next `get` miss) and naming `users` users.
   */
  set(groupId: string, stamp: RouteStamp, freshUntilMs: number, readAtMs: number, routes: R, users: number): void {
    this.entries?.set('routes', groupId, { stamp, freshUntilMs, readAtMs, routes, users });
  }

  /** Groups memoized. */
  get size(): number {
    return this.entries?.size ?? 0;
  }

  /** Routed users held over all groups. */
  get users(): number {
    return this.entries?.bytes ?? 0;
  }
}
