/**
 * End to end over Redis TLS: a Redis Cluster of real redis-server processes that serve TLS only
 * (client port, cluster bus, replication) with certificates this test makes, real gate and logic
 * processes that connect with IMGROUP_REDIS_TLS and the test CA, real WebSocket clients exchanging
 * group messages. A logic process that trusts another CA is refused by every node.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgroupProcess } from '../../../runtime/dev/imgroup-process.js';
import { eventually } from '../../support/eventually.js';
import { getFreePorts } from '../../support/free-ports.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { TestSystem } from '../../support/system.js';
import { LOOPBACK_SANS, makeTestCa, type TestCa } from '../../support/test-certs.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
const PASSWORD = randomBytes(12).toString('hex');
let ca: TestCa;
let otherCa: TestCa;
let redis: TestRedisCluster;
let sys: TestSystem;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeTestCa('redis'), makeTestCa('other')]);
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 1, password: PASSWORD, tls: await ca.issue('redis-node', LOOPBACK_SANS) });
  sys = await new TestSystem({
    redisSeeds: redis.seeds,
    logic: 2,
    gates: 2,
    env: { IMGROUP_REDIS_PASSWORD: PASSWORD, IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: ca.caFile },
  }).start();
});
afterAll(async () => {
  await sys?.stop();
  await redis?.stop();
  await Promise.all([ca?.remove(), otherCa?.remove()]);
});

/** Sharded channels with a subscriber, over every node (PUBSUB SHARDCHANNELS, asked through the TLS admin). */
async function shardChannels(): Promise<number> {
  let n = 0;
  for (const node of redis.nodes) n += ((await redis.admin.command({ host: node.addr.host, port: node.addr.port }, 'pubsub', 'shardchannels')) as unknown[]).length;
  return n;
}

describe('gates and logic nodes on a TLS-only Redis Cluster', () => {
  it('deliver group messages between clients on two gates, stored in Redis over TLS', async () => {
    const [g, alice, bob] = [uid('g'), uid('alice'), uid('bob')];
    await sys.addMembers(g, [alice, bob]);
    const a = await sys.connect(alice, 0);
    const b = await sys.connect(bob, 1);
    const sent = await a.request({ type: 'send', id: 'm1', groupId: g, body: 'over tls' });
    expect(sent).toMatchObject({ type: 'sent', id: 'm1', groupId: g, seq: 1 });
    expect((await b.waitMessages(g, 1))[0]).toMatchObject({ seq: 1, from: alice, body: 'over tls' });
    const reply = await b.request({ type: 'send', id: 'm2', groupId: g, body: 'tls back' });
    expect(reply).toMatchObject({ type: 'sent', seq: 2 });
    expect((await a.waitMessages(g, 2)).map((m) => m.body)).toEqual(['over tls', 'tls back']);
    // A later sync reads the log back from Redis.
    expect(await a.request({ type: 'sync', id: 's1', groupId: g, afterSeq: 0 })).toMatchObject({ type: 'sync.result', messages: [{ seq: 1 }, { seq: 2 }] });
  });

  it('hold their sharded pub/sub subscriptions (session invalidation) over TLS', async () => {
    await eventually('logic nodes subscribed to their invalidation channels', async () => (await shardChannels()) > 0, { timeoutMs: 90_000 });
  }, 120_000);

  it('refuse to start a logic node whose TLS files are unusable (exit 2, naming the setting)', async () => {
    const [port, opsPort] = (await getFreePorts(2)) as [number, number];
    const bad = new ImgroupProcess({
      name: 'logic-bad-ca-file',
      args: ['logic'],
      env: {
        PATH: process.env.PATH,
        IMGROUP_REDIS_SEEDS: redis.seeds.join(','),
        IMGROUP_REDIS_TLS: 'true',
        IMGROUP_REDIS_TLS_CA_FILE: join(ca.dir, 'missing-ca.crt'),
        IMGROUP_LOGIC_PORT: String(port),
        IMGROUP_OPS_PORT: String(opsPort),
        IMGROUP_OPS_HOST: '127.0.0.1',
      },
      logFile: join(sys.dir, 'logic-bad-ca-file.log'),
      opsUrl: `http://127.0.0.1:${opsPort}`,
    });
    expect((await bad.waitExit()).code).toBe(2);
    expect(readFileSync(join(sys.dir, 'logic-bad-ca-file.log'), 'utf8')).toMatch(/IMGROUP_REDIS_TLS_CA_FILE .*missing-ca\.crt cannot be read/);
  });

  it('refuse a logic node that trusts another CA: it logs the refused certificate and never becomes ready', async () => {
    const [port, opsPort] = (await getFreePorts(2)) as [number, number];
    const logFile = join(sys.dir, 'logic-other-ca.log');
    const stranger = new ImgroupProcess({
      name: 'logic-other-ca',
      args: ['logic'],
      env: {
        PATH: process.env.PATH,
        IMGROUP_LOG_LEVEL: 'info',
        IMGROUP_NODE_NAME: 'logic-other-ca',
        IMGROUP_REDIS_SEEDS: redis.seeds.join(','),
        IMGROUP_REDIS_PASSWORD: PASSWORD,
        IMGROUP_REDIS_TLS: 'true',
        IMGROUP_REDIS_TLS_CA_FILE: otherCa.caFile,
        IMGROUP_INTERNAL_TOKEN: sys.internalToken,
        IMGROUP_LOGIC_HOST: '127.0.0.1',
        IMGROUP_LOGIC_PORT: String(port),
        IMGROUP_OPS_PORT: String(opsPort),
        IMGROUP_OPS_HOST: '127.0.0.1',
      },
      logFile,
      opsUrl: `http://127.0.0.1:${opsPort}`,
    });
    try {
      await eventually('the refused certificate in the log', () => /redis node connection error/.test(readLog(logFile)) && /certificate/i.test(readLog(logFile)), { timeoutMs: 90_000, explain: () => readLog(logFile).slice(-2000) });
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/redis/i);
    } finally {
      await stranger.stop(5000);
    }
  }, 120_000);
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
