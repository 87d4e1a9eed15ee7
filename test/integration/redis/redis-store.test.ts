import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { getFreePorts } from '../../support/free-ports.js';
import calculateSlot from 'cluster-key-slot';
import { parseAddr } from '../../../runtime/redis-cluster/redis-addr.js';
import { createCluster, defineScript, RedisStore, type BatchCommand } from '../../../runtime/redis/redis-store.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';

const seeds = inject('redisSeeds');
const run = randomUUID().slice(0, 8);
const MASTERS = 3;

interface Store {
  store: RedisStore;
  registry: Registry;
  /** Current value of a metric, summed over the series that match `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

async function openStore(commandTimeoutMs = 2000): Promise<Store> {
  const registry = new Registry();
  const cluster = createCluster({ seeds, commandTimeoutMs });
  const store = new RedisStore(cluster, createRedisMetrics(registry));
  if (cluster.status !== 'ready') await once(cluster, 'ready');
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = registry.getSingleMetric(name);
    if (!m) throw new Error(`no metric ${name}`);
    const { values } = await m.get();
    return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
  };
  return { store, registry, metric };
}

describe('RedisStore against a real Redis Cluster', () => {
  let s: Store;

  beforeAll(async () => {
    s = await openStore();
  });
  afterAll(async () => {
    await s?.store.close();
  });

  it('sees the cluster’s masters', () => {
    expect(s.store.mastersCount()).toBe(MASTERS);
  });

  it('runs a batch of 1,000 single-key commands in at most one round trip per master, replies in order', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `store-test:${run}:k${i}`);
    const trips0 = await s.metric('imgroup_redis_roundtrips_total');
    const sets0 = await s.metric('imgroup_redis_commands_total', { command: 'set' });

    const setReplies = await s.store.batch(keys.map((k, i) => ['set', k, `v${i}`] as const));
    expect(setReplies.every(([err, v]) => err === null && v === 'OK')).toBe(true);
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBeLessThanOrEqual(MASTERS);
    expect((await s.metric('imgroup_redis_commands_total', { command: 'set' })) - sets0).toBe(1000);

    const trips1 = await s.metric('imgroup_redis_roundtrips_total');
    const getReplies = await s.store.batch(keys.map((k) => ['get', k] as const));
    expect(getReplies.map(([, v]) => v)).toEqual(keys.map((_, i) => `v${i}`));
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips1).toBeLessThanOrEqual(MASTERS);
  });

  it('gives each command of a batch its own error and counts it by kind', async () => {
    const list = `store-test:${run}:list`;
    await s.store.call('rpush', list, 'x');
    const reply0 = await s.metric('imgroup_redis_errors_total', { kind: 'reply' });
    const cmds: BatchCommand[] = [
      ['set', `store-test:${run}:ok1`, '1'],
      ['incr', list],
      ['get', `store-test:${run}:ok1`],
      ['hget', list, 'f'],
    ];
    const replies = await s.store.batch(cmds);
    expect(replies[0]).toEqual([null, 'OK']);
    expect(replies[1]?.[0]?.message).toMatch(/WRONGTYPE/);
    expect(replies[2]).toEqual([null, '1']);
    expect(replies[3]?.[0]?.message).toMatch(/WRONGTYPE/);
    expect((await s.metric('imgroup_redis_errors_total', { kind: 'reply' })) - reply0).toBe(2);
  });

  it('returns [] for an empty batch without a round trip', async () => {
    const trips0 = await s.metric('imgroup_redis_roundtrips_total');
    expect(await s.store.batch([])).toEqual([]);
    expect(await s.metric('imgroup_redis_roundtrips_total')).toBe(trips0);
  });

  it('runs a script, loading it on NOSCRIPT, and by SHA afterwards', async () => {
    // A source no server has seen: the nonce makes the SHA new.
    const script = defineScript('store_test_incrby', `-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const key = `store-test:${run}:counter`;
    const label = { command: `script:${script.name}` };
    const trips0 = await s.metric('imgroup_redis_roundtrips_total');
    const noscript0 = await s.metric('imgroup_redis_errors_total', { kind: 'noscript' });

    expect(await s.store.script(script, [key], [5])).toBe(5);
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBe(2); // EVALSHA → NOSCRIPT, EVAL
    expect(await s.store.script(script, [key], [2])).toBe(7);
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBe(3); // EVALSHA only
    expect(await s.metric('imgroup_redis_commands_total', label)).toBe(2);
    expect(await s.metric('imgroup_redis_errors_total', { kind: 'noscript' })).toBe(noscript0);

    // The script cache is flushed (a failover to a replica that never loaded it looks the same).
    await Promise.all(s.store.cluster.nodes('master').map((n) => n.script('FLUSH')));
    expect(await s.store.script(script, [key], [1])).toBe(8);
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBe(5);
  });

  it('runs script calls as one pipeline per master, replies in order, loading the script where it is missing', async () => {
    const script = defineScript('store_test_scripts', `-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const broken = defineScript('store_test_scripts_broken', `-- ${randomUUID()}\nreturn redis.call('NOSUCHCOMMAND', KEYS[1])`);
    const keys = Array.from({ length: 30 }, (_, i) => `store-test:${run}:sc${i}`);
    const trips0 = await s.metric('imgroup_redis_roundtrips_total');
    const calls = keys.map((k, i) => ({ script: i === 7 ? broken : script, keys: [k], args: [i + 1] }));

    const first = await s.store.scripts(calls);
    expect(first.map(([err, v], i) => (i === 7 ? err !== null : v === i + 1))).toEqual(keys.map(() => true));
    // Unknown everywhere: EVALSHA → NOSCRIPT, then EVAL, per master.
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBeLessThanOrEqual(2 * MASTERS);
    expect(await s.metric('imgroup_redis_commands_total', { command: 'script:store_test_scripts' })).toBe(29);
    expect(await s.metric('imgroup_redis_commands_total', { command: 'script:store_test_scripts_broken' })).toBe(1);

    const trips1 = await s.metric('imgroup_redis_roundtrips_total');
    const second = await s.store.scripts(calls.filter((_, i) => i !== 7));
    expect(second.map(([err, v]) => (err ? null : v))).toEqual(keys.filter((_, i) => i !== 7).map((_, j) => 2 * (j < 7 ? j + 1 : j + 2)));
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips1).toBeLessThanOrEqual(MASTERS);
  });

  it('runs a script and WAIT on the same master connection: one round trip, the replicas that acknowledged', async () => {
    const key = `store-test:${run}:waited`;
    const script = defineScript('store_test_set', `-- ${randomUUID()}\nredis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])`);
    await s.store.script(script, [key], ['x']); // loaded, so the next call is EVALSHA + WAIT only
    const trips0 = await s.metric('imgroup_redis_roundtrips_total');
    const waits0 = await s.metric('imgroup_redis_commands_total', { command: 'wait' });
    // Every master of the shared cluster has one replica: WAIT 1 is answered 1 (no timeout needed).
    expect(await s.store.scriptThenWait({ script, keys: [key], args: ['v1'] }, 1, 10_000)).toEqual({ reply: 'v1', acked: 1 });
    expect((await s.metric('imgroup_redis_roundtrips_total')) - trips0).toBe(1);
    expect((await s.metric('imgroup_redis_commands_total', { command: 'wait' })) - waits0).toBe(1);
    // Asking for more replicas than there are: the WAIT times out and says how many there were.
    expect(await s.store.scriptThenWait({ script, keys: [key], args: ['v2'] }, 2, 50)).toEqual({ reply: 'v2', acked: 1 });
  });

  it('lets concurrent calls to one master share a WAIT (group commit): each gets its own reply, a failing script fails only its call', async () => {
    const own = await openStore(); // a store of its own: the shared one saw a WAIT fall short above
    try {
      const script = defineScript('store_test_commit', `-- ${randomUUID()}\nif ARGV[1] == 'fail' then return redis.error_reply('ERR imgroup commit test') end\nredis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]`);
      const keys = Array.from({ length: 20 }, (_, i) => `{store-test:${run}:commit}:${i}`); // one slot, so one master
      await own.store.script(script, [keys[0] as string], ['loaded']);
      const waits0 = await own.metric('imgroup_redis_commands_total', { command: 'wait' });
      const trips0 = await own.metric('imgroup_redis_roundtrips_total');
      const results = await Promise.allSettled(keys.map((k, i) => own.store.scriptThenWait({ script, keys: [k], args: [i === 7 ? 'fail' : `v${i}`] }, 1, 10_000)));
      results.forEach((r, i) => {
        if (i === 7) expect(r.status === 'rejected' && String(r.reason)).toMatch(/imgroup commit test/);
        else expect(r, `call ${i}`).toEqual({ status: 'fulfilled', value: { reply: `v${i}`, acked: 1 } });
      });
      // Twenty calls, at most two WAITs (all in one batch, or the first alone and the rest after it).
      const waits = (await own.metric('imgroup_redis_commands_total', { command: 'wait' })) - waits0;
      expect(waits).toBeGreaterThanOrEqual(1);
      expect(waits).toBeLessThanOrEqual(2);
      expect((await own.metric('imgroup_redis_roundtrips_total')) - trips0).toBe(waits);
      expect(await own.metric('imgroup_redis_commands_total', { command: 'script:store_test_commit' })).toBe(21);
      const stored = await own.store.batch(keys.map((k) => ['get', k] as const));
      expect(stored.map(([, v]) => v)).toEqual(keys.map((_, i) => (i === 7 ? null : `v${i}`)));
    } finally {
      await own.store.close();
    }
  });

  it('throws the script\'s own error from scriptThenWait', async () => {
    const script = defineScript('store_test_fail', `-- ${randomUUID()}\nreturn redis.error_reply('ERR imgroup test failure')`);
    await expect(s.store.scriptThenWait({ script, keys: [`store-test:${run}:fail`], args: [] }, 1, 1000)).rejects.toThrow(/imgroup test failure/);
  });

  it('counts a failing script as a reply error', async () => {
    const script = defineScript('store_test_broken', `-- ${randomUUID()}\nreturn redis.call('NOSUCHCOMMAND', KEYS[1])`);
    const reply0 = await s.metric('imgroup_redis_errors_total', { kind: 'reply' });
    await expect(s.store.script(script, [`store-test:${run}:x`], [])).rejects.toThrow(/Unknown Redis command|unknown command/i);
    expect((await s.metric('imgroup_redis_errors_total', { kind: 'reply' })) - reply0).toBe(1);
  });

  it('counts a wrong-type command as a reply error', async () => {
    const list = `store-test:${run}:list2`;
    await s.store.call('rpush', list, 'x');
    const reply0 = await s.metric('imgroup_redis_errors_total', { kind: 'reply' });
    await expect(s.store.call('get', list)).rejects.toThrow(/WRONGTYPE/);
    expect((await s.metric('imgroup_redis_errors_total', { kind: 'reply' })) - reply0).toBe(1);
  });

  it('counts a command without reply in time as a timeout', async () => {
    const slow = await openStore(100);
    try {
      // BLPOP on an empty list waits 1 s on the server, far past the 100 ms command timeout.
      await expect(slow.store.call('blpop', `store-test:${run}:empty`, 1)).rejects.toThrow(/timed out/i);
      expect(await slow.metric('imgroup_redis_errors_total', { kind: 'timeout' })).toBe(1);
      expect(await slow.metric('imgroup_redis_errors_total')).toBe(1);
    } finally {
      await slow.store.close();
    }
  });

  it('counts a command on a closed connection as a connection error', async () => {
    const closed = await openStore();
    await closed.store.close();
    await expect(closed.store.call('get', `store-test:${run}:k1`)).rejects.toThrow();
    expect(await closed.metric('imgroup_redis_errors_total', { kind: 'connection' })).toBe(1);
    expect(await closed.store.ping()).toBe(false);
  });

  it('fails commands to an unreachable cluster within the command timeout, counted as connection errors', async () => {
    const [deadPort] = await getFreePorts(1);
    const registry = new Registry();
    const cluster = createCluster({ seeds: [`127.0.0.1:${deadPort}`], commandTimeoutMs: 300 });
    cluster.on('error', () => undefined);
    const store = new RedisStore(cluster, createRedisMetrics(registry));
    try {
      const listeners0 = cluster.listenerCount('ready');
      const many = Promise.allSettled(Array.from({ length: 50 }, () => store.call('get', 'x')));
      expect(cluster.listenerCount('ready') - listeners0).toBeLessThanOrEqual(1); // one shared wait, not 50
      expect((await many).every((r) => r.status === 'rejected' && /not ready/.test(String(r.reason)))).toBe(true);
      await expect(store.call('get', 'x')).rejects.toThrow(/not ready/);
      const replies = await store.batch([['get', 'x'], ['get', 'y']]);
      expect(replies.map(([err]) => err?.message)).toEqual([expect.stringMatching(/not ready/), expect.stringMatching(/not ready/)]);
      const errors = (await registry.getSingleMetric('imgroup_redis_errors_total')!.get()).values;
      expect(errors.filter((v) => v.value > 0)).toEqual([expect.objectContaining({ labels: { kind: 'connection' }, value: 53 })]);
    } finally {
      cluster.disconnect();
    }
  });

  it('keeps the round-trip bound for a batch sent before the slot map is known', async () => {
    const registry = new Registry();
    const store = new RedisStore(createCluster({ seeds, commandTimeoutMs: 2000 }), createRedisMetrics(registry));
    try {
      const replies = await store.batch(Array.from({ length: 200 }, (_, i) => ['get', `store-test:${run}:k${i}`] as const));
      expect(replies.map(([, v]) => v)).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
      const trips = (await registry.getSingleMetric('imgroup_redis_roundtrips_total')!.get()).values[0]?.value;
      expect(trips).toBeLessThanOrEqual(MASTERS);
    } finally {
      await store.close();
    }
  });
});

describe('RedisStore while a slot is being migrated (a cluster of its own)', () => {
  let rc: TestRedisCluster;
  let store: RedisStore;

  beforeAll(async () => {
    rc = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    const cluster = createCluster({ seeds: rc.seeds, commandTimeoutMs: 5000 });
    store = new RedisStore(cluster, createRedisMetrics(new Registry()));
    if (cluster.status !== 'ready') await once(cluster, 'ready');
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await rc?.stop();
  });

  it('batches and script batches still get every reply when half of a slot has moved (ASK), and after it moved (MOVED)', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `{mig-${run}}:k${i}`);
    const slot = calculateSlot(keys[0] as string);
    expect((await store.batch(keys.map((k, i) => ['set', k, `v${i}`] as const))).every(([e]) => e === null)).toBe(true);

    // The slot's owner and another master, by asking the nodes themselves.
    const nodes = await Promise.all(rc.seeds.map(async (s) => ({ addr: parseAddr(s), me: await rc.admin.myself(parseAddr(s)) })));
    const source = nodes.find((n) => n.me.slots.some((r) => r.start <= slot && slot <= r.end));
    const target = nodes.find((n) => n !== source && n.me.role === 'master');
    if (!source || !target) throw new Error(`no owner or target for slot ${slot}`);
    await rc.admin.setSlot(target.addr, slot, 'importing', source.me.id);
    await rc.admin.setSlot(source.addr, slot, 'migrating', target.me.id);
    const moved = keys.slice(0, 20);
    await rc.admin.command(source.addr, 'MIGRATE', target.addr.host, target.addr.port, '', 0, 5000, 'KEYS', ...moved);

    // Half the keys answer ASK inside one pipeline to the source: each reply must still arrive.
    const during = await store.batch(keys.map((k) => ['get', k] as const));
    expect(during.map(([e, v]) => e?.message ?? v)).toEqual(keys.map((_, i) => `v${i}`));
    const writes = await store.batch(keys.map((k, i) => ['set', k, `w${i}`] as const));
    expect(writes.map(([e, v]) => e?.message ?? v)).toEqual(keys.map(() => 'OK'));
    const script = defineScript('store_test_get', `-- ${randomUUID()}\nreturn redis.call('GET', KEYS[1])`);
    const viaScript = await store.scripts(keys.map((k) => ({ script, keys: [k], args: [] })));
    expect(viaScript.map(([e, v]) => e?.message ?? v)).toEqual(keys.map((_, i) => `w${i}`));
    // A script followed by WAIT follows the ASK to the importing node (ASKING, script, WAIT there).
    const append = defineScript('store_test_append', `-- ${randomUUID()}\nreturn redis.call('APPEND', KEYS[1], ARGV[1])`);
    for (const [i, k] of [[0, keys[0]], [39, keys[39]]] as const) {
      expect(await store.scriptThenWait({ script: append, keys: [k as string], args: ['+'] }, 0, 100)).toEqual({ reply: `w${i}+`.length, acked: 0 });
    }
    expect((await store.batch([['get', keys[0] as string], ['get', keys[39] as string]])).map(([e, v]) => e?.message ?? v)).toEqual(['w0+', 'w39+']);
    await store.batch([['set', keys[0] as string, 'w0'], ['set', keys[39] as string, 'w39']]);

    // Finish the move: the rest of the keys, then the slot belongs to the target everywhere.
    await rc.admin.command(source.addr, 'MIGRATE', target.addr.host, target.addr.port, '', 0, 5000, 'KEYS', ...keys.slice(20));
    for (const n of nodes) await rc.admin.setSlot(n.addr, slot, 'node', target.me.id);
    const after = await store.batch(keys.map((k) => ['get', k] as const));
    expect(after.map(([e, v]) => e?.message ?? v)).toEqual(keys.map((_, i) => `w${i}`));
  }, 60_000);
});
