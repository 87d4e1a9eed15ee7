/**
 * The operator's path to Redis with TLS: RedisClusterAdmin forms and inspects a Redis Cluster of
 * real redis-server processes that serve TLS only — on the client port, the cluster bus and
 * replication — with certificates this test makes (test/support/test-certs.ts). Plain TCP, a
 * client that trusts another CA and a client that expects another server name are refused.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import { myselfOf } from '../../../runtime/redis-cluster/cluster-nodes.js';
import { createCluster } from '../../../runtime/redis/redis-store.js';
import { readRedisTls } from '../../../runtime/redis/redis-tls.js';
import { eventually } from '../../support/eventually.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { LOOPBACK_SANS, makeTestCa, type TestCa } from '../../support/test-certs.js';

const PASSWORD = 'tls-test-password';
let ca: TestCa;
let otherCa: TestCa;
let cluster: TestRedisCluster;
const addrs = () => cluster.nodes.map((n) => ({ host: n.addr.host, port: n.addr.port }));

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeTestCa('redis'), makeTestCa('other')]);
  const node = await ca.issue('redis-node', LOOPBACK_SANS);
  // Formed by RedisClusterAdmin over TLS (startLocalRedisCluster → formCluster).
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, password: PASSWORD, tls: node });
});
afterAll(async () => {
  await cluster?.stop();
  await Promise.all([ca?.remove(), otherCa?.remove()]);
});

/** What a raw TCP client gets back for a plain-text PING: the bytes, and whether the server closed. */
function plainPing(port: number): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', (err) => (/ECONNRESET/.test(err.message) ? undefined : reject(err)));
    socket.on('close', () => resolve({ reply, closed: true }));
    socket.on('connect', () => socket.write(`AUTH ${PASSWORD}\r\nPING\r\n`));
  });
}

/** Complete a TLS handshake with `port` trusting `caPem`; resolves the server certificate's subject CN. */
function tlsHandshake(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: caPem }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.destroy();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

describe('a Redis Cluster that serves TLS only, formed by RedisClusterAdmin', () => {
  it('is healthy: every node ok, all slots served, one replica per master linked to it', async () => {
    const health = await cluster.admin.health(addrs(), { knownNodes: 6 });
    expect(health.problems).toEqual([]);
    expect(health.healthy).toBe(true);
    for (const a of addrs()) {
      const me = myselfOf(await cluster.admin.nodes(a));
      if (me?.role !== 'replica') continue;
      // Replication runs over TLS (tls-replication yes): the link is up.
      await eventually(`replica ${a.port} linked to its master`, async () => /master_link_status:up/.test(String(await cluster.admin.command(a, 'info', 'replication'))));
    }
  });

  it('speaks TLS on the cluster bus, signed by the CA', async () => {
    for (const n of cluster.nodes) expect(await tlsHandshake(n.addr.busPort, ca.ca)).toBe('redis-node');
  });

  it('moves a slot with its keys (MIGRATE between nodes over TLS)', async () => {
    const store = createCluster({ seeds: cluster.seeds, password: PASSWORD, commandTimeoutMs: 5000, tls: { ca: ca.ca } });
    try {
      const key = `tls-migrate-${process.pid}`;
      await store.set(key, 'moved over TLS');
      const slot = calculateSlot(key);
      const views = await Promise.all(addrs().map(async (a) => ({ a, me: myselfOf(await cluster.admin.nodes(a)) })));
      const masters = views.filter((v) => v.me?.role === 'master');
      const from = masters.find((v) => v.me?.slots.some((r) => r.start <= slot && slot <= r.end));
      const to = masters.find((v) => v !== from);
      if (!from || !to) throw new Error('no source or target master');
      const moved = await cluster.admin.migrateSlot(slot, from.a, to.a);
      expect(moved.keysMoved).toBe(1);
      expect(await cluster.admin.command(to.a, 'get', key)).toBe('moved over TLS');
      await eventually('the cluster client follows the moved slot', async () => (await store.get(key).catch(() => null)) === 'moved over TLS');
    } finally {
      store.disconnect();
    }
  });

  it('refuses a plain-TCP client on the client port: no reply, the connection is closed', async () => {
    const { reply, closed } = await plainPing(cluster.nodes[0]!.addr.port);
    expect(closed).toBe(true);
    expect(reply).not.toContain('PONG');
    expect(reply).not.toContain('+OK');
  });

  it('is refused by a client that trusts another CA', async () => {
    const stranger = new RedisClusterAdmin({ password: PASSWORD, tls: { ca: otherCa.ca }, connectTimeoutMs: 2000 });
    try {
      await expect(stranger.ping(addrs()[0]!)).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringMatching(/certificate/i) });
    } finally {
      await stranger.close();
    }
  });

  it('is refused by a client that expects another server name; accepted under the name the certificate carries', async () => {
    const wrongName = new RedisClusterAdmin({ password: PASSWORD, tls: readRedisTls({ caFile: ca.caFile }), serverName: () => 'redis-0.elsewhere.svc' });
    const rightName = new RedisClusterAdmin({ password: PASSWORD, tls: readRedisTls({ caFile: ca.caFile }), serverName: () => 'localhost' });
    try {
      await expect(wrongName.ping(addrs()[0]!)).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringMatching(/redis-0\.elsewhere\.svc/) });
      await expect(rightName.ping(addrs()[0]!)).resolves.toBeUndefined();
    } finally {
      await Promise.all([wrongName.close(), rightName.close()]);
    }
  });

  it('is not reached by a client without TLS (ioredis over plain TCP gets no PONG)', async () => {
    const plain = new Redis({ host: '127.0.0.1', port: cluster.nodes[0]!.addr.port, password: PASSWORD, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 2000 });
    plain.on('error', () => undefined);
    try {
      await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    } finally {
      plain.disconnect();
    }
  });
});
