/**
 * The session cache end to end: real gate and logic processes (gates publish presence changes,
 * the logic node subscribes), raw WebSocket clients, the logic node's own /metrics. The TTL is
 * 60 s and the sweep is off, so a member who connects after the cache was filled can only get
 * the next message online through the gate's change notice.
 */
import { randomBytes } from 'node:crypto';
import { clusterClient } from '../../support/redis-cluster.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RawClient } from '../../support/raw-client.js';
import { metricValue, TestSystem } from '../../support/system.js';
import type { Cluster } from 'ioredis';
import { allChannels, DEFAULT_PRESENCE_CHANNELS } from '../../../runtime/presence/presence-channels.js';
import { keys } from '../../../runtime/redis/keys.js';
import { eventually } from '../../support/eventually.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
let sys: TestSystem;
let redis: Cluster;

beforeAll(async () => {
  sys = await new TestSystem({
    redisSeeds: inject('redisSeeds'),
    logic: 1,
    gates: 2,
    env: { IMGROUP_SESSION_TTL_MS: '60000', IMGROUP_SWEEP_INTERVAL_MS: '0', IMGROUP_CURSOR_FLUSH_MS: '200' },
  }).start();
  redis = clusterClient(inject('redisSeeds'));
});
afterAll(async () => {
  await redis?.quit();
  await sys?.stop();
});

async function logicMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await sys.metrics(sys.logic[0]!), name, labels);
}

describe('session cache with real gates', () => {
  it('brings the next message to a member who connected after the cache was filled, through the gate’s notice', async () => {
    const [g, alice, bob, carol] = [uid('g'), uid('alice'), uid('bob'), uid('carol')];
    await sys.addMembers(g, [alice, bob, carol]);
    const a = await sys.connect(alice, 0);
    const c = await sys.connect(carol, 1);
    await eventually('invalidation channels subscribed', async () => sys.subscribedChannels() === allChannels(DEFAULT_PRESENCE_CHANNELS).length);
    expect(await a.request({ type: 'send', id: 'm1', groupId: g, body: 'one' })).toMatchObject({ type: 'sent', seq: 1 });
    await c.waitMessages(g, 1);
    const notices = await logicMetric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' });
    const b = await sys.connect(bob, 1);
    expect((await b.waitMessages(g, 1)).map((m) => m.seq)).toEqual([1]); // login replay
    await eventually('bob’s connect notice applied', async () => (await logicMetric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' })) > notices);
    // Nothing was dropped for a resubscription: the notice alone updated the cached (offline) entry.
    expect(await logicMetric('imgroup_logic_session_cache_invalidations_total', { source: 'resubscribe' })).toBe(0);
    expect(await a.request({ type: 'send', id: 'm2', groupId: g, body: 'two' })).toMatchObject({ type: 'sent', seq: 2 });
    expect((await b.waitMessages(g, 2)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('costs at most 3 Redis commands per message with a warm cache, the members’ acks included', async () => {
    const g = uid('g');
    const members = Array.from({ length: 20 }, (_, i) => uid(`m${i}`));
    await sys.addMembers(g, members);
    const online = await Promise.all(members.slice(0, 10).map((u, i) => sys.connect(u, i % 2)));
    const sender = online[0] as RawClient;
    const round = async (seq: number) => {
      expect(await sender.request({ type: 'send', id: `m${seq}`, groupId: g, body: `${seq}` })).toMatchObject({ type: 'sent', seq });
      for (const c of online) {
        await c.waitMessages(g, seq);
        c.send({ type: 'ack', groupId: g, seq });
      }
      await eventually('cursors written', async () => {
        const cursors = await redis.hmget(keys.groupCursors(g), ...members.slice(0, 10));
        return cursors.every((v) => v === String(seq));
      });
    };
    await round(1);
    const before = await logicMetric('imgroup_redis_commands_total');
    await round(2);
    const commands = (await logicMetric('imgroup_redis_commands_total')) - before;
    console.info(`whole system, 20 members, 10 online on 2 gates, warm cache: ${commands} Redis commands for one message and its 10 acks`);
    expect(commands).toBeLessThanOrEqual(3);
  });
});
