/**
 * Presence through the session cache: a PresenceReader that answers from memory what it can and
 * reads the rest from Redis in one pipelined lookup. Offline users are cached too (an empty
 * device list), so a group where half the members are offline costs no reads either.
 *
 * Single flight per user: a lookup waits for users that another lookup is already reading and
 * reads only the others (still one pipelined lookup, one round trip per master).
 *
 * Change notices (a device connected or disconnected) update a cached entry in place; notices of
 * users that are not cached are ignored. A notice that arrives while its user is being read is
 * replayed on top of the read's result before it is stored, so an older read never overwrites a
 * newer notice (notices are idempotent: add or remove one connId).
 *
 * Refresh ahead: a lookup that finds entries past their renewal point (drawn per read between
 * eight and nine tenths of the TTL, session-cache.ts) reads up to MAX_REFRESH_PER_LOOKUP of them
 * again in the background (the lookup itself answers from the cache and does not wait), so the
 * entries of a busy group are renewed a few at a time over its next messages, before they run
 * out, and no message's fan-out reads the whole group's presence on its path. A renewal that finds
 * the same devices moves the entry's times only and counts as no change, so the group's
 * remembered routing stays valid (route-memo.ts). Users already being read are not read twice. An
 * idle group's entries are not refreshed: they simply run out.
 *
 * Self-correction: a gate that was asked to deliver to users it has no connection for reports
 * them (`missed`); their devices on that gate are dropped from the cache, so they are not asked
 * again until a notice or the next read says otherwise. The message stays behind the member's
 * cursor and reaches them by replay, sweep or sync.
 */
import type { Device, PresenceChange, PresenceLookup, PresenceReader } from '../presence/presence.js';
import type { LogicMetrics } from './logic-metrics.js';
import { type PresenceValue, type SessionCache } from './session-cache.js';
import { SingleFlight } from './single-flight.js';

/** Notices remembered per user while it is being read; beyond it the read is used but not stored. */
const MAX_NOTICES_PER_FILL = 32;
/** Background reads one lookup starts at most (a 1,000-member group is renewed over 16 lookups). */
export const MAX_REFRESH_PER_LOOKUP = 64;

const NO_DEVICES: readonly Device[] = Object.freeze([]);

/** The device list after a change. Pure. A device connecting on a gate drops that gate's devices of older boots. */
export function withChange(devices: readonly Device[], change: PresenceChange): readonly Device[] {
  const { device } = change;
  const kept = devices.filter((d) => d.connId !== device.connId && !(change.online && d.gate === device.gate && d.boot !== device.boot));
  if (change.online) kept.push({ gate: device.gate, boot: device.boot, connId: device.connId });
  return kept.length === 0 ? NO_DEVICES : kept;
}

/** The same devices (in any order). */
export function sameDevices(a: readonly Device[], b: readonly Device[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((d) => b.some((e) => e.connId === d.connId && e.gate === d.gate && e.boot === d.boot));
}

/** A lookup through the cache, with how long its answer may be reused (route-memo.ts). */
export interface CachedPresenceLookup extends PresenceLookup {
  /**
   * The first entry the answer used is due for renewal at this time (ms since the epoch, its
   * `renewAtMs`), so that a reused answer never stretches the TTL and the lookups that renew
   * entries ahead of it still happen. Equal to the lookup's start when the answer must not be
   * reused: the cache is disabled, or part of it came from another lookup's read of unknown age.
   */
  freshUntilMs: number;
}

/** What one fill read: each user's devices, and the earliest renewal point of the entries it stored. */
interface Filled {
  lists: Map<string, readonly Device[]>;
  renewAtMs: number;
}

export class PresenceCache implements PresenceReader {
  private readonly flights = new SingleFlight<readonly Device[]>();
  /** Users being read → notices received meanwhile (null: too many, or a `missed`: do not store). */
  private readonly filling = new Map<string, PresenceChange[] | null>();
  private noticesSeen = 0;

  constructor(
    private readonly reader: PresenceReader,
    private readonly cache: SessionCache,
    private readonly metrics: LogicMetrics,
  ) {}

  /**
   * Equal values mean no presence may have changed in between: it counts every change notice and
   * `missed` report received (of cached users or not) and every store, update or drop of a cached
   * entry (SessionCache.presenceChanges). route-memo.ts relies on it.
   */
  get changes(): number {
    return this.noticesSeen + this.cache.presenceChanges;
  }

  /** The session cache's clock (ms since the epoch), the one `freshUntilMs` is on. */
  now(): number {
    return this.cache.now();
  }

  async lookup(userIds: readonly string[]): Promise<CachedPresenceLookup> {
    const now = this.cache.now();
    if (!this.cache.enabled) {
      this.cache.record('presence', 0, userIds.length, 0);
      return { ...(await this.reader.lookup(userIds)), freshUntilMs: now };
    }
    const devices = new Map<string, Device[]>();
    let oldestMs = now;
    /** The earliest renewal point of the entries used (own fills: known when they are stored). */
    let renewAtMs = Number.POSITIVE_INFINITY;
    /** Some users come from another lookup's read, which may have started before `now`. */
    let shared = false;
    let hits = 0;
    let misses = 0;
    let stales = 0;
    const waits: Array<Promise<void>> = [];
    const toRead = new Set<string>();
    const toRefresh: string[] = [];
    for (const userId of userIds) {
      const found = this.cache.get('presence', userId, now);
      if (found.state === 'hit') {
        hits++;
        const value = found.value;
        if (value.devices.length > 0) devices.set(userId, value.devices as Device[]);
        if (value.changedAtMs < oldestMs) oldestMs = value.changedAtMs;
        if (value.renewAtMs < renewAtMs) renewAtMs = value.renewAtMs;
        if (value.renewAtMs <= now && toRefresh.length < MAX_REFRESH_PER_LOOKUP && !this.flights.get(userId)) toRefresh.push(userId);
        continue;
      }
      if (found.state === 'stale') stales++;
      else misses++;
      const running = this.flights.get(userId);
      if (running) {
        shared = true;
        waits.push(running.then((list) => void (list.length > 0 && devices.set(userId, list as Device[]))));
      } else {
        toRead.add(userId);
      }
    }
    this.cache.record('presence', hits, misses, stales);
    // Not awaited: the answer above does not depend on it. A failure leaves the entries to run out.
    if (toRefresh.length > 0) this.read(toRefresh).catch(() => undefined);
    if (toRead.size > 0) {
      const read = this.read([...toRead]);
      waits.push(
        read.then((filled) => {
          for (const [userId, list] of filled.lists) if (list.length > 0) devices.set(userId, list as Device[]);
          renewAtMs = Math.min(renewAtMs, filled.renewAtMs);
        }),
      );
    }
    await Promise.all(waits);
    return { devices, readAtMs: oldestMs, freshUntilMs: shared || renewAtMs === Number.POSITIVE_INFINITY ? now : renewAtMs };
  }

  /** Read `users` (none of them in flight) as one fill, registered as their single flight. */
  private read(users: readonly string[]): Promise<Filled> {
    const read = this.fill(users);
    for (const userId of users) this.flights.share(userId, read.then((f) => f.lists.get(userId) ?? NO_DEVICES));
    return read;
  }

  /** A change notice from a gate. Never throws. */
  apply(change: PresenceChange): void {
    this.noticesSeen++;
    const pending = this.filling.get(change.userId);
    if (pending) {
      if (pending.length >= MAX_NOTICES_PER_FILL) this.filling.set(change.userId, null);
      else pending.push(change);
    }
    const value = this.cache.peek('presence', change.userId);
    if (!value) return;
    const next: PresenceValue = { kind: 'presence', devices: withChange(value.devices, change), changedAtMs: this.cache.now(), renewAtMs: value.renewAtMs };
    if (this.cache.update(change.userId, next)) this.metrics.sessionCacheInvalidations.inc({ kind: 'presence', source: 'notice' });
  }

  /** A gate (name and boot) had no connection for these users: forget their devices there. */
  dropMissed(gate: string, boot: string, userIds: readonly string[]): void {
    this.noticesSeen++;
    let changed = 0;
    for (const userId of userIds) {
      if (this.filling.has(userId)) this.filling.set(userId, null);
      const value = this.cache.peek('presence', userId);
      if (!value) continue;
      const devices = value.devices.filter((d) => d.gate !== gate || d.boot !== boot);
      if (devices.length === value.devices.length) continue;
      this.cache.update(userId, { kind: 'presence', devices: devices.length > 0 ? devices : NO_DEVICES, changedAtMs: this.cache.now(), renewAtMs: value.renewAtMs });
      changed++;
    }
    if (changed > 0) this.metrics.sessionCacheInvalidations.inc({ kind: 'presence', source: 'missed' }, changed);
  }

  /**
   * Read `users` from Redis; store each result (with the notices seen meanwhile) unless told not
   * to. A result equal to the entry stored renews it without counting as a change.
   */
  private async fill(users: readonly string[]): Promise<Filled> {
    const epochs = users.map((u) => this.cache.epoch(u));
    for (const u of users) this.filling.set(u, []);
    let found: PresenceLookup;
    try {
      found = await this.reader.lookup(users);
    } catch (err) {
      for (const u of users) this.filling.delete(u);
      throw err;
    }
    const lists = new Map<string, readonly Device[]>();
    let earliest = Number.POSITIVE_INFINITY;
    users.forEach((userId, i) => {
      let list: readonly Device[] = found.devices.get(userId) ?? NO_DEVICES;
      const notices = this.filling.get(userId);
      this.filling.delete(userId);
      for (const change of notices ?? []) list = withChange(list, change);
      lists.set(userId, list);
      if (notices === null) {
        // Not stored: an answer that used it must not be reused.
        earliest = Math.min(earliest, found.readAtMs);
        return;
      }
      const renewAtMs = this.cache.renewAtMs(found.readAtMs);
      const stored = this.cache.peek('presence', userId);
      const kept =
        stored && sameDevices(stored.devices, list)
          ? this.cache.renew(userId, { kind: 'presence', devices: stored.devices, changedAtMs: found.readAtMs, renewAtMs }, found.readAtMs, epochs[i] as number)
          : this.cache.set(userId, { kind: 'presence', devices: list, changedAtMs: found.readAtMs, renewAtMs }, found.readAtMs, epochs[i] as number);
      earliest = Math.min(earliest, kept ? renewAtMs : found.readAtMs);
    });
    return { lists, renewAtMs: earliest };
  }
}
