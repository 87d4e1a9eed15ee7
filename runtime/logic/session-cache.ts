/**
 * The session cache of a logic node: group member lists and users' presence (live devices) in
 * process memory, so a busy group does not read every member's presence from Redis on every
 * message. One bounded store holds both kinds (IMGROUP_SESSION_CACHE_MAX_ENTRIES / _MAX_BYTES,
 * least recently used first out), each entry valid for IMGROUP_SESSION_TTL_MS after it was read
 * from Redis; a TTL of 0 disables the cache (every lookup reads Redis).
 *
 * Groups are routed to one logic node, so each node caches the groups it owns and their members'
 * presence: about 1/N of the data per node. Fills are never broadcast.
 *
 * Freshness within the TTL comes from change notices (session-invalidation.ts): entries are
 * updated in place or dropped. Notices travel on B bucket channels; while a bucket's channel was
 * not subscribed, notices of its ids may have been lost, so when it is subscribed (again) every
 * entry of that bucket is dropped and the bucket's epoch moves on: a fill that started before
 * that is not stored (`set` with the epoch read at the start of the fill).
 *
 * Request results (metric `imgroup_logic_session_cache_requests_total{kind,result}`):
 *   hit   — a stored entry younger than the TTL answered;
 *   stale — an entry was stored but its TTL had passed: it is dropped and Redis is read;
 *   miss  — nothing stored (never read, evicted, dropped by a notice, or the cache is disabled).
 */
import type { Device } from '../presence/presence.js';
import { bucketOf } from '../presence/presence-channels.js';
import type { LogicMetrics } from './logic-metrics.js';
import { type CacheLookup, TtlLruCache } from './ttl-lru-cache.js';

export type SessionKind = 'members' | 'presence';

/**
 * Entries older than this share of the TTL are read again in the background when they are used
 * (member-cache.ts, presence-cache.ts), so a busy group's entries are renewed before they run out.
 * The latest point: a presence entry's own point is drawn among RENEW_STEPS evenly spaced shares
 * from RENEW_EARLIEST_TTL_SHARE to this one when it is read (`SessionCache.renewAtMs`), so the
 * entries of a whole group read at once are not all due at the same moment.
 */
export const REFRESH_AFTER_TTL_SHARE = 0.9;
export const RENEW_EARLIEST_TTL_SHARE = 0.8;
/** Few distinct points, so an answer reused until its earliest point (route-memo.ts) is reused long. */
export const RENEW_STEPS = 8;

export interface MembersValue {
  kind: 'members';
  members: readonly string[];
  /** Built on first membership question. */
  set: Set<string> | null;
}

export interface PresenceValue {
  kind: 'presence';
  /** Live devices; empty = offline (offline members are cached too). */
  devices: readonly Device[];
  /** Last time this entry was read from Redis or changed by a notice (for presence age). */
  changedAtMs: number;
  /** From this time on a lookup that uses the entry reads it again in the background. */
  renewAtMs: number;
}

export type SessionValue = MembersValue | PresenceValue;

export interface SessionCacheOptions {
  /** 0 disables the cache. */
  sessionTtlMs: number;
  sessionCacheMaxEntries: number;
  sessionCacheMaxBytes: number;
  /** Bucket channels (IMGROUP_PRESENCE_CHANNELS). */
  presenceChannels: number;
}

/** Rough V8 costs: an entry with its map slot, a string header, an array slot, a device object. */
const ENTRY_BYTES = 160;
const STRING_BYTES = 24;
const DEVICE_BYTES = 96;

export function sessionValueBytes(id: string, value: SessionValue): number {
  let bytes = ENTRY_BYTES + STRING_BYTES + id.length;
  if (value.kind === 'members') {
    for (const m of value.members) bytes += 8 + STRING_BYTES + m.length;
    if (value.set) bytes += value.members.length * 24;
    return bytes;
  }
  for (const d of value.devices) bytes += DEVICE_BYTES + 3 * STRING_BYTES + d.gate.length + d.boot.length + d.connId.length;
  return bytes;
}

export class SessionCache {
  private readonly store: TtlLruCache<SessionValue, SessionKind> | null;
  private readonly epochs: Uint32Array;
  private changes = 0;

  constructor(
    private readonly opts: SessionCacheOptions,
    private readonly metrics: LogicMetrics,
    readonly now: () => number = Date.now,
    /** Draws each presence entry's renewal point (`renewAtMs`); tests pass a fixed one. */
    private readonly random: () => number = Math.random,
  ) {
    this.epochs = new Uint32Array(opts.presenceChannels);
    this.store =
      opts.sessionTtlMs > 0
        ? new TtlLruCache<SessionValue, SessionKind>({
            ttlMs: opts.sessionTtlMs,
            maxEntries: opts.sessionCacheMaxEntries,
            maxBytes: opts.sessionCacheMaxBytes,
            sizeOf: sessionValueBytes,
            now,
            onEvict: (kind) => metrics.sessionCacheEvictions.inc({ kind }),
          })
        : null;
    metrics.sessionCacheSource.entries = (kind) => this.store?.count(kind) ?? 0;
    metrics.sessionCacheSource.bytes = () => this.store?.bytes ?? 0;
  }

  get enabled(): boolean {
    return this.store !== null;
  }

  /** Entries are valid this long after they were read from Redis. */
  get ttlMs(): number {
    return this.opts.sessionTtlMs;
  }

  /**
   * Counts every store, update or drop of a presence entry (and every bucket reset): equal counts
   * mean no cached presence changed in between (route-memo.ts relies on it).
   */
  get presenceChanges(): number {
    return this.changes;
  }

  /**
   * When an entry read from Redis at `readAtMs` is due for renewal: between RENEW_EARLIEST_TTL_SHARE
   * and REFRESH_AFTER_TTL_SHARE of the TTL after it, one of RENEW_STEPS points drawn at random.
   */
  renewAtMs(readAtMs: number): number {
    const step = Math.min(RENEW_STEPS - 1, Math.floor(this.random() * RENEW_STEPS));
    const share = RENEW_EARLIEST_TTL_SHARE + ((REFRESH_AFTER_TTL_SHARE - RENEW_EARLIEST_TTL_SHARE) * step) / (RENEW_STEPS - 1);
    return readAtMs + this.opts.sessionTtlMs * share;
  }

  /** `nowMs`: the clock read once by a caller that looks up many ids (this.now() otherwise). */
  get<K extends SessionKind>(kind: K, id: string, nowMs?: number): CacheLookup<Extract<SessionValue, { kind: K }>> {
    if (!this.store) return { state: 'miss' };
    return this.store.get(kind, id, nowMs) as CacheLookup<Extract<SessionValue, { kind: K }>>;
  }

  peek<K extends SessionKind>(kind: K, id: string): Extract<SessionValue, { kind: K }> | undefined {
    return this.store?.peek(kind, id) as Extract<SessionValue, { kind: K }> | undefined;
  }

  /** The epoch of `id`'s bucket; read it before a fill starts and hand it to `set`. */
  epoch(id: string): number {
    return this.epochs[bucketOf(id, this.epochs.length)] as number;
  }

  /** Store a value read from Redis at `readAtMs`, unless its bucket was reset since `epoch`. */
  set(id: string, value: SessionValue, readAtMs: number, epoch: number): boolean {
    return this.put(id, value, readAtMs, epoch, true);
  }

  /**
   * Store a value read again from Redis that equals the one stored (the same devices): as `set`,
   * but not counted as a presence change, so the routing remembered from it stays valid
   * (route-memo.ts).
   */
  renew(id: string, value: SessionValue, readAtMs: number, epoch: number): boolean {
    return this.put(id, value, readAtMs, epoch, false);
  }

  private put(id: string, value: SessionValue, readAtMs: number, epoch: number, isChange: boolean): boolean {
    if (!this.store || this.epoch(id) !== epoch) return false;
    if (isChange && value.kind === 'presence') this.changes++;
    return this.store.set(value.kind, id, value, readAtMs);
  }

  /** Replace a stored value (TTL unchanged); false when not stored. */
  update(id: string, value: SessionValue): boolean {
    const updated = this.store?.update(value.kind, id, value) ?? false;
    if (updated && value.kind === 'presence') this.changes++;
    return updated;
  }

  delete(kind: SessionKind, id: string): boolean {
    const deleted = this.store?.delete(kind, id) ?? false;
    if (deleted && kind === 'presence') this.changes++;
    return deleted;
  }

  /**
   * Notices of these buckets may have been lost: drop their entries and move their epochs on
   * (fills in flight are not stored). Returns the number of entries dropped, by kind.
   */
  resetBuckets(buckets: Iterable<number>): Record<SessionKind, number> {
    const dropped: Record<SessionKind, number> = { members: 0, presence: 0 };
    const reset = new Set<number>();
    for (const b of buckets) {
      if (b < 0 || b >= this.epochs.length) continue;
      this.epochs[b] = ((this.epochs[b] as number) + 1) >>> 0;
      reset.add(b);
    }
    if (!this.store || reset.size === 0) return dropped;
    this.changes++;
    this.store.deleteWhere((_kind, id, value) => {
      if (!reset.has(bucketOf(id, this.epochs.length))) return false;
      dropped[value.kind]++;
      return true;
    });
    return dropped;
  }

  /** Count the results of one lookup (one counter update per result, not per id). */
  record(kind: SessionKind, hits: number, misses: number, stales: number): void {
    const c = this.metrics.sessionCacheRequests;
    if (hits > 0) c.inc({ kind, result: 'hit' }, hits);
    if (misses > 0) c.inc({ kind, result: 'miss' }, misses);
    if (stales > 0) c.inc({ kind, result: 'stale' }, stales);
  }

  get size(): number {
    return this.store?.size ?? 0;
  }

  get bytes(): number {
    return this.store?.bytes ?? 0;
  }
}
