/**
 * Group member lists through the session cache: fan-out, the sweep and the membership check of
 * `sync` ask here instead of reading `im:{g:G}:members` every time. Concurrent misses of one
 * group merge into one SMEMBERS.
 *
 * A member list changes only through `members.update`; the node that runs it drops its own entry
 * and publishes a MembersChange on the group's bucket channel, so other nodes holding the group
 * (after a routing change) drop theirs. A fill in flight while the list changes is not stored.
 * Only a positive answer of the cache is trusted for a membership check (`knownMember`): a user
 * missing from a cached list may just have been added, so the caller asks Redis.
 */
import type { Logger } from 'pino';
import { encodeMembersChange, membersChannelOf } from '../presence/presence-channels.js';
import { keys } from '../redis/keys.js';
import type { RedisStore } from '../redis/redis-store.js';
import { stringsOf } from './batch-replies.js';
import type { LogicMetrics } from './logic-metrics.js';
import { type MembersValue, REFRESH_AFTER_TTL_SHARE, type SessionCache } from './session-cache.js';
import { SingleFlight } from './single-flight.js';

export interface MemberCacheOptions {
  /** Publish member-list changes for the other nodes' caches (IMGROUP_SESSION_INVALIDATION). */
  publishChanges: boolean;
  presenceChannels: number;
}

/** The stored list names exactly `read`'s members (SMEMBERS has no order). */
function sameMembers(stored: MembersValue, read: readonly string[]): boolean {
  if (stored.members.length !== read.length) return false;
  const set = stored.set ?? new Set(stored.members);
  return read.every((m) => set.has(m));
}

export class MemberCache {
  private readonly flights = new SingleFlight<readonly string[]>();
  /** Groups with a fill in flight → the list changed meanwhile (do not store the fill). */
  private readonly filling = new Map<string, { changed: boolean }>();

  constructor(
    private readonly store: RedisStore,
    private readonly cache: SessionCache,
    private readonly metrics: LogicMetrics,
    private readonly log: Logger,
    private readonly opts: MemberCacheOptions,
  ) {}

  /**
   * The group's members (unordered). A list in the last tenth of its TTL is read again in the
   * background (as presence entries are, presence-cache.ts), so a busy group's next message does
   * not wait for SMEMBERS when the list runs out. A renewal that reads the same members keeps the
   * array already handed out, so the routing remembered for it stays valid (route-memo.ts).
   */
  async members(groupId: string): Promise<readonly string[]> {
    const now = this.cache.now();
    const found = this.cache.get('members', groupId, now);
    if (found.state === 'hit') {
      this.cache.record('members', 1, 0, 0);
      if (found.storedAtMs <= now - this.cache.ttlMs * REFRESH_AFTER_TTL_SHARE && !this.flights.get(groupId)) {
        this.flights.run(groupId, () => this.fill(groupId)).catch(() => undefined);
      }
      return found.value.members;
    }
    this.cache.record('members', 0, found.state === 'miss' ? 1 : 0, found.state === 'stale' ? 1 : 0);
    if (!this.cache.enabled) return this.read(groupId);
    return this.flights.run(groupId, () => this.fill(groupId));
  }

  /** True when a fresh cached list names `userId`; false means "not known here: ask Redis". */
  knownMember(groupId: string, userId: string): boolean {
    const value = this.cache.peek('members', groupId);
    if (!value) return false;
    if (!value.set) {
      value.set = new Set(value.members);
      this.cache.update(groupId, value);
    }
    return value.set.has(userId);
  }

  /** The list changed on this node: drop it here and tell the other nodes. Never throws. */
  async changed(groupId: string): Promise<void> {
    this.drop(groupId, 'local');
    if (!this.opts.publishChanges) return;
    const channel = membersChannelOf(groupId, this.opts.presenceChannels);
    await this.store.call('spublish', channel, encodeMembersChange({ groupId })).catch((err: unknown) => {
      this.log.warn({ err, groupId }, 'member-list change not published; other nodes rely on their TTL');
    });
  }

  /** A MembersChange notice (or a local change): forget the list. */
  drop(groupId: string, source: 'notice' | 'local'): void {
    const fill = this.filling.get(groupId);
    if (fill) fill.changed = true;
    if (this.cache.delete('members', groupId)) this.metrics.sessionCacheInvalidations.inc({ kind: 'members', source });
  }

  private async fill(groupId: string): Promise<readonly string[]> {
    const epoch = this.cache.epoch(groupId);
    const readAtMs = this.cache.now();
    const state = { changed: false };
    this.filling.set(groupId, state);
    try {
      const read = await this.read(groupId);
      const stored = this.cache.peek('members', groupId);
      const same = stored !== undefined && sameMembers(stored, read);
      const members = same ? stored.members : read;
      if (!state.changed) this.cache.set(groupId, { kind: 'members', members, set: same ? stored.set : null }, readAtMs, epoch);
      return members;
    } finally {
      if (this.filling.get(groupId) === state) this.filling.delete(groupId);
    }
  }

  private async read(groupId: string): Promise<string[]> {
    return stringsOf(await this.store.call<unknown>('smembers', keys.groupMembers(groupId)));
  }
}
