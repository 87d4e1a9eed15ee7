/**
 * The operator's own Redis path with spec.redis.tls, against real redis-server processes that
 * serve TLS only: RedisDriver with lifecycleEngineFactory (as operator/main.ts wires it) gets the
 * password and the CA, reaches each "pod" at its IP and checks the pod's certificate against its
 * DNS name (`N-redis-i.N-redis.NS.svc`, covered by the wildcard SAN cert-manager would be asked
 * for), and bootstraps the Redis Cluster from bare nodes. A pod whose certificate does not name it
 * is reported unreachable with the reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServerProcess } from '../../../runtime/dev/redis-server-process.js';
import type { RedisLifecycleResult, RedisPodView } from '../../../operator/redis/lifecycle-types.js';
import { lifecycleEngineFactory, RedisDriver } from '../../../operator/reconcile/redis-driver.js';
import { eventually } from '../../support/eventually.js';
import { getFreePorts } from '../../support/free-ports.js';
import { makeTestCa, type TestCa } from '../../support/test-certs.js';

const PASSWORD = 'lifecycle-tls-password';
/** What the operator would ask cert-manager for, plus 127.0.0.1 for the nodes' own start-up probe here. */
const SANS = ['DNS:*.chat-redis.prod.svc', 'IP:127.0.0.1'];
const log = pino({ level: process.env.LIFECYCLE_LOG ?? 'silent' });

let ca: TestCa;
let dir: string;
let nodes: RedisServerProcess[] = [];

beforeAll(async () => {
  ca = await makeTestCa('lifecycle');
  const cert = await ca.issue('chat-redis', SANS);
  dir = await mkdtemp(join(tmpdir(), 'imgroup-lifecycle-tls-'));
  const ports = await getFreePorts(12);
  nodes = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      RedisServerProcess.start({ port: ports[i] as number, busPort: ports[6 + i] as number, dir: join(dir, String(i)), clusterNodeTimeoutMs: 2000, password: PASSWORD, tls: cert }),
    ),
  );
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
  await ca?.remove();
});

/** The pods as the reconciler shows them to the driver: IP, port, and the DNS name (`host`). */
function views(hostOf: (i: number) => string): RedisPodView[] {
  return nodes.map((n, i) => ({ name: `chat-redis-${i}`, ordinal: i, ip: n.addr.host, port: n.addr.port, ready: true, host: hostOf(i) }));
}

const input = (pods: RedisPodView[]) => ({ pods, masters: 3, replicasPerMaster: 1, port: 6379, statefulSetReplicas: 6 });

describe('the operator\'s Redis lifecycle over TLS', () => {
  it('reports every pod unreachable, with the certificate\'s reason, when the pods\' names are not the certificate\'s', async () => {
    const driver = new RedisDriver(lifecycleEngineFactory(log));
    try {
      const r = await driver.step('prod/chat', { password: PASSWORD, tls: { ca: ca.ca } }, input(views((i) => `chat-redis-${i}.chat-redis.other.svc`)));
      expect(r.unreachable).toHaveLength(6);
      expect(r.unreachable[0]?.error).toMatch(/altnames/);
      expect(r.actions).toEqual([]);
    } finally {
      await driver.close();
    }
  });

  it('is refused without the CA (plain TCP to a TLS port): no pod answers', async () => {
    const driver = new RedisDriver(lifecycleEngineFactory(log));
    try {
      const r = await driver.step('prod/chat', { password: PASSWORD, tls: null }, input(views((i) => `chat-redis-${i}.chat-redis.prod.svc`)));
      expect(r.unreachable).toHaveLength(6);
      expect(r.actions).toEqual([]);
    } finally {
      await driver.close();
    }
  });

  it('bootstraps the cluster from bare TLS nodes, checking each pod\'s certificate against its DNS name', async () => {
    const driver = new RedisDriver(lifecycleEngineFactory(log));
    let last: RedisLifecycleResult | undefined;
    try {
      await eventually(
        'the Redis Cluster Healthy',
        async () => {
          last = await driver.step('prod/chat', { password: PASSWORD, tls: { ca: ca.ca } }, input(views((i) => `chat-redis-${i}.chat-redis.prod.svc`)));
          return last.state === 'Healthy';
        },
        { timeoutMs: 120_000, intervalMs: 200, explain: () => JSON.stringify({ state: last?.state, problems: last?.problems.slice(0, 5), unreachable: last?.unreachable }) },
      );
      expect(last?.unreachable).toEqual([]);
      expect(last?.slotsAssigned).toBe(16384);
      expect(last?.shards).toHaveLength(3);
      expect(last?.shards.every((s) => s.replicas.length === 1)).toBe(true);
    } finally {
      await driver.close();
    }
  });
});
