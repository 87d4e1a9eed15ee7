/**
 * The runtime's cluster client (createCluster, as gates and logic nodes make it) on a TLS-only
 * Redis Cluster whose nodes announce a host name, as the operator's nodes do (their pod DNS
 * names): the certificate names only that host (no IP SAN), so the client must reach every node
 * by name — the seeds and the names in the slot map — and never by a resolved IP.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { makeTestCa, type TestCa } from '../../support/test-certs.js';

const PASSWORD = 'store-tls-password';
let ca: TestCa;
let redis: TestRedisCluster;

beforeAll(async () => {
  ca = await makeTestCa('store');
  const cert = await ca.issue('localhost-only', ['DNS:localhost']);
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 0, password: PASSWORD, tls: cert, announceHostname: 'localhost' });
});
afterAll(async () => {
  await redis?.stop();
  await ca?.remove();
});

const store = (seedHost: string) =>
  new RedisStore(
    createCluster({ seeds: redis.nodes.map((n) => `${seedHost}:${n.addr.port}`), password: PASSWORD, commandTimeoutMs: 3000, tls: { ca: ca.ca } }),
    createRedisMetrics(new Registry()),
  );

describe('createCluster with TLS against nodes that announce a host name', () => {
  it('reaches every master by that name and reads back what it wrote on each', async () => {
    const s = store('localhost');
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `tls-store-${process.pid}-${i}`);
      const replies = await s.batch(keys.map((k) => ['set', k, `v-${k}`] as const));
      expect(replies.filter(([err]) => err !== null)).toEqual([]);
      const read = await s.batch(keys.map((k) => ['get', k] as const));
      expect(read.map(([, v]) => v)).toEqual(keys.map((k) => `v-${k}`));
      const masters = s.cluster.nodes('master');
      expect(masters).toHaveLength(3);
      expect(new Set(masters.map((n) => n.options.host))).toEqual(new Set(['localhost']));
    } finally {
      await s.close();
    }
  });

  it('refuses the nodes when reaching them by IP, which the certificate does not name', async () => {
    const s = store('127.0.0.1');
    s.cluster.on('error', () => undefined);
    try {
      await expect(s.call('set', `tls-store-ip-${process.pid}`, 'x')).rejects.toThrow();
    } finally {
      await s.close();
    }
  });
});
