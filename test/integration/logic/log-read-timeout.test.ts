/**
 * A log read that times out still counts against the node's read budget until Redis is past it.
 *
 * The read budget (IMGROUP_LOGIC_LOG_READ_MAX_BYTES) bounds the reply bytes Redis holds for one
 * logic node. ioredis gives up on a command after the command timeout, but Redis still runs it
 * and holds its reply until the connection reads it; a busy machine made exactly that happen
 * under a flood of logins (66 MiB on one master against a 48 MiB bound). Here the group's master
 * holds the page script back (CLIENT PAUSE WRITE), the read times out, and the budget must stay
 * taken until the master has sent the late reply — state, not time: the pause lasts until the
 * test lifts it.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { LogReader } from '../../../runtime/logic/log-reader.js';
import { ReadBudget } from '../../../runtime/logic/read-budget.js';
import { keys } from '../../../runtime/redis/keys.js';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';
import { eventually } from '../../support/eventually.js';

const COMMAND_TIMEOUT_MS = 200;
let store: RedisStore;
let pauser: Redis | undefined;

beforeAll(async () => {
  const cluster = createCluster({ seeds: inject('redisSeeds'), commandTimeoutMs: COMMAND_TIMEOUT_MS });
  cluster.on('error', () => {});
  store = new RedisStore(cluster, createRedisMetrics(new Registry()));
  if (cluster.status !== 'ready') await once(cluster, 'ready');
});
afterAll(async () => {
  if (pauser) {
    await pauser.call('client', 'unpause').catch(() => {});
    pauser.disconnect();
  }
  store?.cluster.disconnect();
});

it('keeps a timed-out page’s bytes reserved until the master has sent the late reply', async () => {
  const g = `g-${randomBytes(4).toString('hex')}`;
  for (let seq = 1; seq <= 3; seq++) await store.cluster.xadd(keys.groupLog(g), `${seq}-1`, 'f', 'bob', 'b', 'x'.repeat(1000), 't', '1700000000000');
  const owner = store.cluster.slots[calculateSlot(keys.groupLog(g))]?.[0];
  expect(owner).toBeDefined();
  const [host, port] = (owner as string).split(':');
  pauser = new Redis({ host, port: Number(port) });

  const budget = new ReadBudget({ maxBytes: 1024 * 1024, waitMs: 0 }, { admitted: () => {}, refused: () => {} });
  const reader = new LogReader(store, budget, { bytesRead: () => {} });
  // Scripts count as writes: the page script waits on the master, and so does anything sent after
  // it on the same connection, until the pause is lifted.
  await pauser.call('client', 'pause', '600000', 'WRITE');
  const read = reader.read([{ groupId: g, memberCheck: null, afterSeq: 0, maxCount: 10 }], { budgetBytes: 64 * 1024, oversize: true, path: 'sync' });
  await expect(read).rejects.toThrow(/timed? ?out/i);
  expect(budget.inFlight).toBeGreaterThan(0);

  await pauser.call('client', 'unpause');
  await eventually('the budget released once the master answered past the late reply', () => budget.inFlight === 0);
  // The budget is whole again: a read right now gets the whole log.
  const again = await reader.read([{ groupId: g, memberCheck: null, afterSeq: 0, maxCount: 10 }], { budgetBytes: 64 * 1024, oversize: true, path: 'sync' });
  expect(again.results[0]?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
});
