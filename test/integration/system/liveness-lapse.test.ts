/**
 * A gate whose liveness key lapsed (here: the gate stopped with SIGSTOP while its key is deleted,
 * as a heartbeat that comes too late or a Redis pause leaves it) had its users shown offline, and
 * the logic node cached them so. The gate's next heartbeat learns of the lapse and announces its
 * connections online again, so the cache is corrected at once, not after its TTL. The TTL here is
 * 10 minutes and the sweep is off: without the announcement the member would get nothing more.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { clusterClient } from '../../support/redis-cluster.js';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { allChannels, DEFAULT_PRESENCE_CHANNELS } from '../../../runtime/presence/presence-channels.js';
import { keys } from '../../../runtime/redis/keys.js';
import { eventually } from '../../support/eventually.js';
import { metricValue, TestSystem } from '../../support/system.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
let sys: TestSystem;
let redis: Cluster;

beforeAll(async () => {
  sys = await new TestSystem({
    redisSeeds: inject('redisSeeds'),
    logic: 1,
    gates: 2,
    // A long heartbeat: the stopped gate's clients are not timed out by it (2 intervals of silence).
    heartbeatMs: 5000,
    env: { IMGROUP_SESSION_TTL_MS: '600000', IMGROUP_SWEEP_INTERVAL_MS: '0' },
  }).start();
  redis = clusterClient(inject('redisSeeds'));
});
afterAll(async () => {
  await redis?.quit();
  await sys?.stop();
});

it('a gate whose liveness lapsed announces its users again: the logic cache shows them online at once', async () => {
  const [g, alice, bob, carol] = [uid('g'), uid('alice'), uid('bob'), uid('carol')];
  await sys.addMembers(g, [alice, bob, carol]);
  const a = await sys.connect(alice, 0);
  const b = await sys.connect(bob, 1);
  const c = await sys.connect(carol, 1);
  // The logic node keeps what it caches only once its change-notice channels are subscribed.
  await eventually('invalidation channels subscribed', async () => sys.subscribedChannels() === allChannels(DEFAULT_PRESENCE_CHANNELS).length);
  const gate0 = sys.gates[0]!;
  const pid = gate0.process.pid as number;

  // gate-0 cannot heartbeat; its key is gone, as after an expiry.
  process.kill(pid, 'SIGSTOP');
  try {
    await redis.del(keys.gateAlive(gate0.name));
    expect(await b.request({ type: 'send', id: 'm1', groupId: g, body: 'one' })).toMatchObject({ type: 'sent', seq: 1 });
    // The fan-out of m1 ran (carol has it): alice was looked up while her gate looked dead.
    await c.waitMessages(g, 1);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await eventually('gate-0 saw its liveness lapse', async () => metricValue(await sys.metrics(gate0), 'imgroup_gate_liveness_lapses_total') >= 1);
  await eventually(
    'the logic node applied the announcement',
    async () => metricValue(await sys.metrics(sys.logic[0]!), 'imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' }) >= 1,
    {
      explain: async () =>
        (await sys.metrics(sys.logic[0]!))
          .split('\n')
          .filter((l) => l.startsWith('imgroup_logic_session_cache') || l.startsWith('imgroup_logic_fanout'))
          .join('\n'),
    },
  );
  expect(await b.request({ type: 'send', id: 'm2', groupId: g, body: 'two' })).toMatchObject({ type: 'sent', seq: 2 });
  // m2 reaches alice live (m1, sent while she looked offline, is hers by sync or login replay).
  expect((await a.waitMessages(g, 1)).map((m) => m.seq)).toEqual([2]);
});
