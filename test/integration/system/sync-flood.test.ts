/**
 * Issue 9 §1 on the real cluster: one member cannot knock over Redis with `sync`.
 *
 * A group holds 400 messages of 15 KB (6 MB). Its member opens 3 connections that stop reading
 * and sends, on each, 45 `sync`s with limit 1000 per second (within the 50/s, burst 100 rate
 * limit), for several seconds. Meanwhile two members of another group, on the same logic node
 * and the same Redis master, keep exchanging messages. Every Redis node's used_memory is
 * sampled throughout. Without byte bounds each sync asked Redis for the whole 6 MB log at once:
 * the masters' reply buffers grew by hundreds of MB within a second. The bound stated here:
 *
 *   growth of used_memory on any node ≤ logic nodes × IMGROUP_LOGIC_LOG_READ_MAX_BYTES (2 × 16 MiB)
 *                                       + 16 MiB (the normal pair's writes, allocator slack)
 *
 * and no node changes role, and no sample sees cluster_state other than ok. The same holds when
 * 40 members of the group connect at once (login replays) and sync. A reading client with two
 * syncs in flight on these messages is no longer closed as a slow consumer.
 */
import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HashRing } from '../../../runtime/routing/hash-ring.js';
import { keys } from '../../../runtime/redis/keys.js';
import { eventually } from '../../support/eventually.js';
import { RawClient } from '../../support/raw-client.js';
import { type NodeWatchReport, RedisNodeWatch } from '../../support/redis-node-watch.js';
import { TestSystem } from '../../support/system.js';

const MiB = 1024 * 1024;
const LOGIC_NODES = 2;
/** The logic default of IMGROUP_LOGIC_LOG_READ_MAX_BYTES. */
const NODE_READ_BYTES = 16 * MiB;
const GROWTH_BOUND = LOGIC_NODES * NODE_READ_BYTES + 16 * MiB;
const MESSAGES = 400;
const BODY_BYTES = 15_000;

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
let sys: TestSystem;
/** The group with the large messages, and the logic node and Redis master that hold it. */
let bigGroup: string;
let owner: string;
let masterOf: (groupId: string) => string;

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: LOGIC_NODES, gates: 2 }).start();
  masterOf = await slotMasters(inject('redisSeeds'));
  owner = 'logic-0';
  bigGroup = groupOn(owner, null);
  await sys.addMembers(bigGroup, ['mallory']);
  await postLarge(bigGroup, MESSAGES);
}, 180_000);
afterAll(async () => {
  await sys?.stop();
});

/** Post `count` messages of BODY_BYTES to `groupId` through the admin API. */
async function postLarge(groupId: string, count: number): Promise<void> {
  const body = (i: number) => `#${i} `.padEnd(BODY_BYTES, 'x');
  for (let i = 0; i < count; i += 10) {
    const posts = await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, k) => sys.admin('POST', `/v1/groups/${groupId}/messages`, { from: 'system', body: body(i + k + 1) })));
    for (const p of posts) expect(p.status, JSON.stringify(p.body)).toBe(200);
  }
}

/** A fresh group id the gates route to `logic` and whose keys live on `master` (any when null). */
function groupOn(logic: string, master: string | null): string {
  const ring = new HashRing(sys.logic.map((l) => l.name));
  for (;;) {
    const g = uid('g');
    if (ring.owner(g) === logic && (master === null || masterOf(g) === master)) return g;
  }
}

/** groupId → address of the master serving its slot, from CLUSTER SLOTS. */
async function slotMasters(seeds: readonly string[]): Promise<(groupId: string) => string> {
  const [host, port] = (seeds[0] as string).split(':');
  const r = new Redis({ host, port: Number(port) });
  try {
    const slots = (await r.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
    return (groupId) => {
      const slot = calculateSlot(keys.groupLog(groupId));
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return `${range[2][0]}:${range[2][1]}`;
    };
  } finally {
    r.disconnect();
  }
}

async function connect(userId: string, gate = 0): Promise<RawClient> {
  const c = await RawClient.connect(sys.gates[gate]!.wsUrl, await sys.token(userId));
  sys.track(c.ws);
  return c;
}

/** A client that stops reading: the kernel buffers fill and the gate's send buffer with them. */
function stopReading(c: RawClient): void {
  (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

/**
 * Two members of another group on the same logic node and Redis master exchange about ten
 * messages a second until stopped. Answers other than `sent` are collected, not thrown, so that
 * a failing run still reports what Redis went through.
 */
async function normalPair(): Promise<{ stop(): Promise<{ sent: number; refused: string[]; latenciesMs: number[] }> }> {
  const g = groupOn(owner, masterOf(bigGroup));
  const [alice, bob] = [uid('alice'), uid('bob')];
  await sys.addMembers(g, [alice, bob]);
  const a = await connect(alice, 0);
  const b = await connect(bob, 1);
  let running = true;
  let sent = 0;
  const refused: string[] = [];
  const latenciesMs: number[] = [];
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const id = `n${n}`;
      const start = performance.now();
      const r = await a.request({ type: 'send', id, groupId: g, body: id }, 30_000);
      if (r.type !== 'sent') {
        refused.push(`${id}: ${r.code}`);
        continue;
      }
      sent++;
      await b.waitMessages(g, sent, 30_000);
      const took = performance.now() - start;
      latenciesMs.push(took);
      // A normal conversation: about ten messages a second, well within the rate limit.
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - took)));
    }
  })();
  loop.catch(() => undefined); // handled in stop()
  return {
    async stop() {
      running = false;
      await loop;
      // Every accepted message reached bob, in order, exactly once.
      expect(b.messages(g).map((m) => m.seq)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
      return { sent, refused, latenciesMs };
    },
  };
}

function describeGrowth(reports: readonly NodeWatchReport[]): string {
  return reports
    .map((r) => `${r.node} ${(r.growthBytes / MiB).toFixed(1)} MiB (Lua VM at most ${(r.maxLuaBytes / MiB).toFixed(1)} MiB; ${r.roles.join('→')}, ${r.states.join('/')})`)
    .join('; ');
}

function expectClusterUnharmed(reports: readonly NodeWatchReport[]): void {
  for (const r of reports) {
    expect(r.growthBytes, `${r.node}: ${describeGrowth(reports)}`).toBeLessThanOrEqual(GROWTH_BOUND);
    expect(r.roles, `${r.node} changed role`).toHaveLength(1);
    expect(r.states, `${r.node} saw the cluster state`).toEqual(['ok']);
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Watch every Redis node; an attack stops early once any node went over the bound (the test then fails). */
async function watchRedis(): Promise<{ watch: RedisNodeWatch; over: () => boolean }> {
  const watch = new RedisNodeWatch(inject('redisSeeds'));
  let over = false;
  watch.onSample = (reports) => {
    if (reports.some((r) => r.growthBytes > GROWTH_BOUND)) over = true;
  };
  await watch.start();
  return { watch, over: () => over };
}

describe('a sync flood by one member', () => {
  it('leaves Redis memory within the bound, the cluster without failover, and another group talking', async () => {
    const { watch, over } = await watchRedis();
    const pair = await normalPair();
    try {
      const conns = await Promise.all([0, 1, 2].map(() => connect('mallory', 0)));
      for (const c of conns) stopReading(c);
      let syncs = 0;
      // Six rounds, one second apart: 45 syncs per connection and second stay within 50/s.
      for (let round = 0; round < 6 && !over(); round++) {
        const started = Date.now();
        for (const c of conns) {
          for (let k = 0; k < 45; k++) c.send({ type: 'sync', id: `s${round}-${k}`, groupId: bigGroup, afterSeq: 0, limit: 1000 });
          syncs += 45;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
      // The flood is over once the owner has answered (or refused) every sync the gates passed on.
      await eventually('the logic node has no log reads in flight', async () => {
        const text = await sys.metrics(sys.logic[0]!);
        return !/^imgroup_logic_log_read_bytes_in_flight [1-9]/m.test(text);
      }, 60_000);
      const reports = await watch.stop();
      const { sent, refused, latenciesMs } = await pair.stop();
      console.log(
        `sync flood: ${syncs} syncs of limit 1000 on ${MESSAGES} × ${BODY_BYTES} B; Redis used_memory growth per node: ${describeGrowth(reports)}; ` +
          `normal pair: ${sent} messages, ${refused.length} refused, send→delivered p50 ${percentile(latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(latenciesMs, 99).toFixed(1)} ms, max ${Math.max(...latenciesMs).toFixed(1)} ms`,
      );
      expectClusterUnharmed(reports);
      expect(refused).toEqual([]);
      expect(sent).toBeGreaterThan(0);
    } finally {
      await watch.close();
    }
  });

  it('answers a reading client two syncs in flight in pages it can take, without closing it as a slow consumer', async () => {
    // 1,000 messages of 15 KB: without byte-bounded pages one sync.result was 15 MB, over the
    // gate's 4 MiB send buffer, and the second one in flight closed the connection (4001).
    const g = groupOn(owner, null);
    const reader = uid('reader');
    await sys.addMembers(g, [reader]);
    await postLarge(g, 1000);
    const c = await connect(reader, 1);
    const seqs: number[] = [];
    let afterSeq = 0;
    let more = true;
    while (more) {
      // Two pages in flight at once (the per-connection maximum).
      const [first, second] = await Promise.all([
        c.request({ type: 'sync', id: `p${afterSeq}`, groupId: g, afterSeq, limit: 1000 }, 30_000),
        c.request({ type: 'sync', id: `q${afterSeq}`, groupId: g, afterSeq, limit: 1000 }, 30_000),
      ]);
      expect(c.closed).toBeNull();
      expect(first, JSON.stringify(first).slice(0, 200)).toMatchObject({ type: 'sync.result' });
      expect(second.messages.map((m: { seq: number }) => m.seq)).toEqual(first.messages.map((m: { seq: number }) => m.seq));
      expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThanOrEqual(1.1 * MiB);
      seqs.push(...first.messages.map((m: { seq: number }) => m.seq));
      afterSeq = seqs.at(-1) ?? afterSeq;
      more = first.more;
    }
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const third = [0, 1, 2].map((i) => c.request({ type: 'sync', id: `r${i}`, groupId: g, afterSeq: 0, limit: 1000 }, 30_000));
    const answers = await Promise.all(third);
    expect(answers.filter((f) => f.type === 'error').map((f) => f.code)).toEqual(['RATE_LIMITED']);
    expect(c.closed).toBeNull();
  });

  it('keeps Redis within the bound when 40 members connect at once (login replays) and sync', async () => {
    const members = Array.from({ length: 40 }, () => uid('m'));
    await sys.addMembers(bigGroup, members);
    const { watch } = await watchRedis();
    try {
      // They are new members: their cursors start at the head. Put them back to 0 so that each
      // login replays up to IMGROUP_REPLAY_MAX_BYTES of the 6 MB log.
      const r = new Redis({ host: masterOf(bigGroup).split(':')[0], port: Number(masterOf(bigGroup).split(':')[1]) });
      try {
        await r.hset(keys.groupCursors(bigGroup), Object.fromEntries(members.map((m) => [m, '0'])));
      } finally {
        r.disconnect();
      }
      const clients = await Promise.all(members.map((m, i) => connect(m, i % 2)));
      const answers = await Promise.all(
        clients.flatMap((c) => [0, 1].map((k) => c.request({ type: 'sync', id: `s${k}`, groupId: bigGroup, afterSeq: k * 200, limit: 1000 }, 30_000))),
      );
      const reports = await watch.stop();
      const replayed = clients.reduce((n, c) => n + c.messages(bigGroup).length, 0);
      console.log(
        `40 logins + 80 syncs: Redis used_memory growth per node: ${describeGrowth(reports)}; ` +
          `replayed so far: ${replayed} messages; syncs answered UNAVAILABLE: ${answers.filter((a) => a.type === 'error').length}`,
      );
      expectClusterUnharmed(reports);
      for (const a of answers) {
        // A sync that found the node's read budget taken for too long is told to retry.
        if (a.type === 'error') expect(a.code).toBe('UNAVAILABLE');
        else expect(a.type).toBe('sync.result');
      }
      expect(answers.some((a) => a.type === 'sync.result')).toBe(true);
      for (const c of clients) expect(c.closed).toBeNull();
    } finally {
      await watch.close();
    }
  });
});
