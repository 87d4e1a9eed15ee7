/**
 * The presence cache's rules, with a scripted presence reader (each lookup waits until the test
 * releases it) and a fake clock, so interleavings are exact. Against real Redis: see
 * test/integration/logic/session-cache.test.ts.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogicMetrics, type LogicMetrics } from '../../../runtime/logic/logic-metrics.js';
import { MAX_REFRESH_PER_LOOKUP, PresenceCache, withChange } from '../../../runtime/logic/presence-cache.js';
import { SessionCache } from '../../../runtime/logic/session-cache.js';
import { bucketOf } from '../../../runtime/presence/presence-channels.js';
import type { Device, PresenceChange, PresenceLookup, PresenceReader } from '../../../runtime/presence/presence.js';

const dev = (gate: string, boot: string, connId: string): Device => ({ gate, boot, connId });
const on = (userId: string, d: Device): PresenceChange => ({ userId, online: true, device: d });
const off = (userId: string, d: Device): PresenceChange => ({ userId, online: false, device: d });

/** A reader whose lookups resolve when the test says so, from a table the test controls. */
class ScriptedReader implements PresenceReader {
  readonly table = new Map<string, Device[]>();
  readonly calls: string[][] = [];
  private readonly waiting: Array<() => void> = [];
  auto = true;
  /** When the answer was read (ms since the epoch). */
  readAt: () => number = () => 5000;

  lookup(userIds: readonly string[]): Promise<PresenceLookup> {
    this.calls.push([...userIds]);
    const answer = () => {
      const devices = new Map<string, Device[]>();
      for (const u of userIds) if (this.table.get(u)?.length) devices.set(u, [...(this.table.get(u) as Device[])]);
      return { devices, readAtMs: this.readAt() };
    };
    if (this.auto) return Promise.resolve(answer());
    // The answer is taken at release time: what Redis holds when the read executes.
    return new Promise((resolve) => this.waiting.push(() => resolve(answer())));
  }

  release(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

/** `random`: draws renewal points (session-cache.ts); by default always the latest, nine tenths of the TTL. */
function setup(ttlMs = 1000, buckets = 4, random: () => number = () => 0.999) {
  const clock = { ms: 5000 };
  const registry = new Registry();
  const metrics = createLogicMetrics(registry);
  const session = new SessionCache({ sessionTtlMs: ttlMs, sessionCacheMaxEntries: 1000, sessionCacheMaxBytes: 1 << 20, presenceChannels: buckets }, metrics, () => clock.ms, random);
  const reader = new ScriptedReader();
  const cache = new PresenceCache(reader, session, metrics);
  return { clock, metrics, session, reader, cache, registry };
}

async function count(metrics: LogicMetrics, labels: Record<string, string>, metric: 'sessionCacheRequests' | 'sessionCacheInvalidations' = 'sessionCacheRequests'): Promise<number> {
  const { values } = await metrics[metric].get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want)).reduce((s, v) => s + v.value, 0);
}

describe('withChange', () => {
  it('adds and removes one connection, and drops devices of an older boot of the same gate on connect', () => {
    const a = dev('g1', 'b1', 'c1');
    expect(withChange([], on('u', a))).toEqual([a]);
    expect(withChange([a], on('u', a))).toEqual([a]);
    expect(withChange([a], off('u', a))).toEqual([]);
    expect(withChange([a], off('u', dev('g1', 'b1', 'other')))).toEqual([a]);
    const restarted = dev('g1', 'b2', 'c9');
    expect(withChange([a, dev('g2', 'b1', 'c2')], on('u', restarted))).toEqual([dev('g2', 'b1', 'c2'), restarted]);
  });
});

describe('PresenceCache', () => {
  it('answers from memory within the TTL (offline users included) and reads again once it passed', async () => {
    const { cache, reader, clock, metrics } = setup();
    reader.table.set('alice', [dev('g1', 'b1', 'c1')]);
    const first = await cache.lookup(['alice', 'bob']);
    expect([...first.devices.keys()]).toEqual(['alice']);
    expect(await cache.lookup(['alice', 'bob'])).toMatchObject({ devices: new Map([['alice', [dev('g1', 'b1', 'c1')]]]) });
    expect(reader.calls).toEqual([['alice', 'bob']]);
    clock.ms += 1000;
    await cache.lookup(['alice', 'bob']);
    expect(reader.calls).toHaveLength(2);
    expect([await count(metrics, { result: 'miss' }), await count(metrics, { result: 'hit' }), await count(metrics, { result: 'stale' })]).toEqual([2, 2, 2]);
  });

  it('reads each user once however many lookups want it at the same time', async () => {
    const { cache, reader } = setup();
    reader.auto = false;
    reader.table.set('b', [dev('g1', 'b1', 'cb')]);
    const one = cache.lookup(['a', 'b', 'c']);
    const two = cache.lookup(['b', 'c', 'd']);
    reader.release();
    await Promise.resolve();
    reader.release();
    const [r1, r2] = await Promise.all([one, two]);
    expect(reader.calls).toEqual([['a', 'b', 'c'], ['d']]);
    expect([...r1.devices.keys()]).toEqual(['b']);
    expect([...r2.devices.keys()]).toEqual(['b']);
  });

  it('updates cached users in place on notices, ignores users it does not hold', async () => {
    const { cache, reader, session, metrics } = setup();
    await cache.lookup(['alice']);
    const d = dev('g1', 'b1', 'c1');
    cache.apply(on('alice', d));
    cache.apply(on('carol', d));
    expect((await cache.lookup(['alice'])).devices.get('alice')).toEqual([d]);
    expect(session.peek('presence', 'carol')).toBeUndefined();
    cache.apply(off('alice', d));
    expect((await cache.lookup(['alice'])).devices.size).toBe(0);
    expect(reader.calls).toHaveLength(1);
    expect(await count(metrics, { kind: 'presence', source: 'notice' }, 'sessionCacheInvalidations')).toBe(2);
  });

  it('never lets an older read overwrite a notice that arrived while it was in flight', async () => {
    const { cache, reader } = setup();
    reader.auto = false;
    const d = dev('g1', 'b1', 'c1');
    const pending = cache.lookup(['alice']);
    // The read went out before alice connected; the connect notice arrives before its answer.
    cache.apply(on('alice', d));
    reader.release();
    expect((await pending).devices.get('alice')).toEqual([d]);
    reader.auto = true;
    expect((await cache.lookup(['alice'])).devices.get('alice')).toEqual([d]);
    expect(reader.calls).toHaveLength(1);
  });

  it('drops the devices of a gate that reported users missed, and does not store a read in flight for them', async () => {
    const { cache, reader, metrics } = setup();
    const onA = dev('gA', 'bA', 'c1');
    const onB = dev('gB', 'bB', 'c2');
    reader.table.set('alice', [onA, onB]);
    reader.table.set('bob', [onA]);
    await cache.lookup(['alice', 'bob']);
    cache.dropMissed('gA', 'bA', ['alice', 'bob', 'nobody']);
    const after = await cache.lookup(['alice', 'bob']);
    expect(after.devices.get('alice')).toEqual([onB]);
    expect(after.devices.has('bob')).toBe(false);
    expect(await count(metrics, { source: 'missed' }, 'sessionCacheInvalidations')).toBe(2);
    // A read in flight while a miss is reported is used once but not kept.
    reader.auto = false;
    reader.table.set('carol', [onA]);
    const pending = cache.lookup(['carol']);
    cache.dropMissed('gA', 'bA', ['carol']);
    reader.release();
    await pending;
    reader.auto = true;
    await cache.lookup(['carol']);
    expect(reader.calls.filter((c) => c.includes('carol'))).toHaveLength(2);
  });

  it('forgets a bucket whose notices may have been lost, including reads in flight', async () => {
    const { cache, reader, session } = setup(60_000, 4);
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    await cache.lookup(users);
    const reset = new Set([bucketOf('u0', 4), bucketOf('late', 4)]);
    const inBucket = users.filter((u) => reset.has(bucketOf(u, 4)));
    expect(inBucket.length).toBeLessThan(users.length);
    reader.auto = false;
    const pending = cache.lookup(['late']);
    expect(session.resetBuckets(reset)).toEqual({ members: 0, presence: inBucket.length });
    reader.release();
    await pending;
    reader.auto = true;
    const before = reader.calls.length;
    await cache.lookup([...users, 'late']);
    expect(reader.calls.slice(before)).toEqual([[...inBucket, 'late']]);
  });

  it('renews entries in the last tenth of their TTL in the background: no lookup waits for it, none reads them on its path', async () => {
    const { cache, reader, clock, metrics } = setup(1000);
    reader.readAt = () => clock.ms;
    reader.table.set('alice', [dev('g1', 'b1', 'c1')]);
    await cache.lookup(['alice', 'bob']);
    clock.ms += 850;
    await cache.lookup(['alice', 'bob']);
    expect(reader.calls).toHaveLength(1);
    clock.ms += 100;
    reader.auto = false;
    // Answered from memory while the renewal is still held by the reader.
    expect([...(await cache.lookup(['alice', 'bob'])).devices.keys()]).toEqual(['alice']);
    expect(reader.calls).toEqual([['alice', 'bob'], ['alice', 'bob']]);
    await cache.lookup(['alice', 'bob']);
    expect(reader.calls).toHaveLength(2);
    reader.table.set('bob', [dev('g2', 'b1', 'c2')]);
    reader.release();
    await new Promise((r) => setImmediate(r));
    // Past the first read's TTL: the renewed entries answer, and they hold what the renewal read.
    clock.ms += 100;
    expect([...(await cache.lookup(['alice', 'bob'])).devices.keys()].sort()).toEqual(['alice', 'bob']);
    expect(reader.calls).toHaveLength(2);
    expect([await count(metrics, { result: 'miss' }), await count(metrics, { result: 'stale' })]).toEqual([2, 0]);
  });

  it('renews at most MAX_REFRESH_PER_LOOKUP entries per lookup', async () => {
    const { cache, reader, clock } = setup(1000);
    reader.readAt = () => clock.ms;
    const users = Array.from({ length: 2 * MAX_REFRESH_PER_LOOKUP + 44 }, (_, i) => `u${i}`);
    const first = await cache.lookup(users);
    // An answer may be reused until its oldest entry is due for renewal, not until it runs out.
    expect(first.freshUntilMs).toBe(5000 + 900);
    clock.ms += 950;
    for (let i = 0; i < 4; i++) {
      await cache.lookup(users);
      await new Promise((r) => setImmediate(r));
    }
    expect(reader.calls.map((c) => c.length)).toEqual([users.length, MAX_REFRESH_PER_LOOKUP, MAX_REFRESH_PER_LOOKUP, 44]);
    expect((await cache.lookup(users)).freshUntilMs).toBe(5950 + 900);
  });

  it('a renewal that reads the same devices is no change (a remembered routing stays valid); one that reads others is', async () => {
    const { cache, reader, clock, session } = setup(1000);
    reader.readAt = () => clock.ms;
    const d = dev('g1', 'b1', 'c1');
    reader.table.set('alice', [d]);
    await cache.lookup(['alice', 'bob']);
    const before = cache.changes;
    clock.ms += 950;
    const due = await cache.lookup(['alice', 'bob']);
    // Its answer is due for renewal already: not to be reused.
    expect(due.freshUntilMs).toBe(5900);
    await new Promise((r) => setImmediate(r));
    expect(reader.calls).toHaveLength(2);
    expect(cache.changes).toBe(before);
    expect(session.peek('presence', 'alice')).toMatchObject({ devices: [d], changedAtMs: 5950, renewAtMs: 5950 + 900 });
    const renewed = await cache.lookup(['alice', 'bob']);
    expect(renewed.freshUntilMs).toBe(5950 + 900);
    // The same devices in another order are the same; a new device is a change.
    const d2 = dev('g2', 'b1', 'c2');
    reader.table.set('alice', [d, d2]);
    clock.ms += 950;
    await cache.lookup(['alice', 'bob']);
    await new Promise((r) => setImmediate(r));
    expect(cache.changes).toBe(before + 1);
    reader.table.set('alice', [d2, d]);
    clock.ms += 950;
    await cache.lookup(['alice', 'bob']);
    await new Promise((r) => setImmediate(r));
    expect(reader.calls).toHaveLength(4);
    expect(cache.changes).toBe(before + 1);
  });

  it('spreads the renewal points of entries read together over eight steps from 0.8 to 0.9 of the TTL', async () => {
    let draw = 0;
    const { cache, reader, clock, session } = setup(1000, 4, () => (draw++ % 8) / 8);
    reader.readAt = () => clock.ms;
    const users = Array.from({ length: 64 }, (_, i) => `u${i}`);
    const first = await cache.lookup(users);
    const points = users.map((u) => session.peek('presence', u)?.renewAtMs as number);
    expect(new Set(points).size).toBe(8);
    expect(Math.min(...points)).toBe(5000 + 800);
    expect(Math.max(...points)).toBeCloseTo(5000 + 900, 6);
    // An answer is reused until its earliest point; at each point only the entries due are read.
    expect(first.freshUntilMs).toBe(5800);
    clock.ms += 800;
    await cache.lookup(users);
    await new Promise((r) => setImmediate(r));
    expect(reader.calls.map((c) => c.length)).toEqual([64, 8]);
  });

  it('reads every time when disabled (TTL 0), counting misses', async () => {
    const { cache, reader, metrics } = setup(0);
    await cache.lookup(['a', 'b']);
    await cache.lookup(['a', 'b']);
    expect(reader.calls).toHaveLength(2);
    expect(await count(metrics, { result: 'miss' })).toBe(4);
  });
});
