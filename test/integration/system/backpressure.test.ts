/**
 * Backpressure end to end, on a Redis Cluster of this file's own (3 masters, no replicas, a
 * cluster-node-timeout far above the pause, so that nothing fails over: Redis is merely slow):
 * with clients sending as fast as their windows allow, a Redis master, then a logic node, is
 * stopped with SIGSTOP for 10 s and continued with SIGCONT.
 *
 * Asserted: clients get UNAVAILABLE (retryable; runtime/client sends again with the same id)
 * rather than requests piling up — every process's queues stay within their configured bounds
 * as its own metrics report them (gates: requests in flight and bytes queued per logic link;
 * logic nodes: Redis commands and bytes pending), every process's RSS stays under RSS_BOUND;
 * after SIGCONT every group accepts sends again; no accepted message is lost (every one is in its
 * group's log and reaches every member's client); no request is answered INTERNAL. The highest figures seen are printed.
 */
import { Cluster } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgroupClient } from '../../../runtime/client/index.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { metricValue, type NodeHandle, TestSystem } from '../../support/system.js';

const GROUPS = 12;
const GROUP_SIZE = 3;
/** Sends each sender keeps in flight. */
const WINDOW = 25;
const PAUSE_MS = 10_000;
/** Configured bounds, small enough for the load below to reach them. */
const MAX_PENDING_REQUESTS = 50;
const MAX_LINK_BUFFERED_BYTES = 256 * 1024;
const MAX_REDIS_PENDING_COMMANDS = 100;
const MAX_REDIS_PENDING_BYTES = 1024 * 1024;
/** Resident memory every gate and logic process stays under, bytes. */
const RSS_BOUND = 400 * 1024 * 1024;

let redis: TestRedisCluster;
let sys: TestSystem;
const members: Array<{ userId: string; groupId: string; client: ImgroupClient; received: Set<number> }> = [];
const accepted = new Map<string, Set<number>>();
const clientErrors: string[] = [];
const closes = new Map<string, number[]>();
const errs = new Map<string, string[]>();

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 0, clusterNodeTimeoutMs: 60_000 });
  sys = await new TestSystem({
    redisSeeds: redis.seeds,
    logic: 2,
    gates: 2,
    env: {
      IMGROUP_MAX_PENDING_REQUESTS: String(MAX_PENDING_REQUESTS),
      IMGROUP_LINK_MAX_BUFFERED_BYTES: String(MAX_LINK_BUFFERED_BYTES),
      IMGROUP_REDIS_MAX_PENDING_COMMANDS: String(MAX_REDIS_PENDING_COMMANDS),
      IMGROUP_REDIS_MAX_PENDING_BYTES: String(MAX_REDIS_PENDING_BYTES),
      IMGROUP_RATE_PER_SEC: '1000',
      IMGROUP_RATE_BURST: '1000',
      // A group gets over 10,000 messages in this test (the default IMGROUP_LOG_CAP): a member held
      // behind a gap during the pause must still find the messages it misses in the log.
      IMGROUP_LOG_CAP: '1000000',
    },
  }).start();
  const run = Math.random().toString(36).slice(2, 8);
  for (let g = 0; g < GROUPS; g++) {
    const groupId = `bp-${run}-g${g}`;
    const users = Array.from({ length: GROUP_SIZE }, (_, i) => `bp-${run}-u${g}-${i}`);
    await sys.addMembers(groupId, users);
    for (const [i, userId] of users.entries()) {
      const client = new ImgroupClient({ url: sys.gates[(g + i) % 2]!.wsUrl, token: await sys.token(userId), WebSocket, reconnectMaxMs: 2000 });
      const m = { userId, groupId, client, received: new Set<number>() };
      // A new member has nothing of the group yet: a first message above seq 1 is a gap to fill,
      // not the start of the group (the client adopts the first seq it sees otherwise).
      client.setLastSeq(groupId, 0);
      client.on('message', (msg) => m.received.add(msg.seq));
      client.on('close', (info) => closes.set(userId, [...(closes.get(userId) ?? []), info.code]));
      client.on('error', (err) => {
        errs.set(userId, [...(errs.get(userId) ?? []), err.message]);
        if ((err as { code?: string }).code === ErrorCode.INTERNAL) clientErrors.push(err.message);
      });
      members.push(m);
    }
  }
  await Promise.all(members.map((m) => m.client.connect()));
}, 180_000);

afterAll(async () => {
  for (const m of members) m.client.close();
  await sys?.stop();
  await redis?.stop();
});

/** One sender per group (its first member), WINDOW sends in flight each, until stopped. */
function startLoad(): { stop(): Promise<void>; sent: () => number } {
  let running = true;
  let sent = 0;
  const loops: Promise<void>[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const m = members[g * GROUP_SIZE]!;
    for (let w = 0; w < WINDOW; w++) {
      loops.push(
        (async () => {
          for (let i = 0; running; i++) {
            try {
              const r = await m.client.send(m.groupId, `w${w}-${i}`);
              sent++;
              let seqs = accepted.get(m.groupId);
              if (!seqs) accepted.set(m.groupId, (seqs = new Set()));
              seqs.add(r.seq);
            } catch (err) {
              clientErrors.push(`send: ${(err as Error).message}`);
            }
          }
        })(),
      );
    }
  }
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

interface Peaks {
  gatePending: number;
  gateBuffered: number;
  redisPending: number;
  redisBytes: number;
  rss: number;
  samples: number;
}

/** Scrape every running process while `active()` holds, keeping the highest figures. */
async function sampleWhile(active: () => boolean, skip: NodeHandle | null = null): Promise<Peaks> {
  const peaks: Peaks = { gatePending: 0, gateBuffered: 0, redisPending: 0, redisBytes: 0, rss: 0, samples: 0 };
  while (active()) {
    for (const node of [...sys.gates, ...sys.logic]) {
      if (node === skip) continue;
      const text = await sys.metrics(node).catch(() => '');
      if (text === '') continue;
      peaks.samples++;
      peaks.rss = Math.max(peaks.rss, metricValue(text, 'process_resident_memory_bytes'));
      peaks.redisPending = Math.max(peaks.redisPending, metricValue(text, 'imgroup_redis_pending_commands'));
      peaks.redisBytes = Math.max(peaks.redisBytes, metricValue(text, 'imgroup_redis_pending_bytes'));
      peaks.gatePending = Math.max(peaks.gatePending, metricValue(text, 'imgroup_gate_logic_pending_requests'));
      peaks.gateBuffered = Math.max(peaks.gateBuffered, metricValue(text, 'imgroup_gate_logic_buffered_bytes'));
    }
  }
  return peaks;
}

async function gatesTotal(name: string, labels: Record<string, string> = {}): Promise<number> {
  let n = 0;
  for (const g of sys.gates) n += metricValue(await sys.metrics(g), name, labels);
  return n;
}

function expectWithinBounds(p: Peaks): void {
  const links = sys.logic.length;
  expect(p.samples).toBeGreaterThan(0);
  expect(p.gatePending, 'requests in flight per gate').toBeLessThanOrEqual(links * MAX_PENDING_REQUESTS);
  // A link takes one more request when it is just under its byte bound: one frame more at most.
  expect(p.gateBuffered, 'bytes queued on a gate’s logic links').toBeLessThanOrEqual(links * (MAX_LINK_BUFFERED_BYTES + 64 * 1024));
  expect(p.redisPending, 'Redis commands pending in one process').toBeLessThanOrEqual(MAX_REDIS_PENDING_COMMANDS);
  expect(p.redisBytes, 'bytes of Redis commands pending in one process').toBeLessThanOrEqual(MAX_REDIS_PENDING_BYTES);
  expect(p.rss, 'resident memory of every process').toBeLessThanOrEqual(RSS_BOUND);
}

async function everyGroupAcceptsSends(): Promise<void> {
  await Promise.all(
    Array.from({ length: GROUPS }, async (_, g) => {
      const m = members[g * GROUP_SIZE + 1]!;
      const r = await m.client.send(m.groupId, 'after the pause');
      accepted.get(m.groupId)?.add(r.seq) ?? accepted.set(m.groupId, new Set([r.seq]));
    }),
  );
}

/**
 * Every member's client ends up with every accepted message of its group, live or caught up (gap
 * fill, sweep). On a timeout the state of each member still behind is shown: its client (state,
 * contiguous seq, what it received), its cursor and its group's head in Redis, its presence entries
 * and whether their gates are registered.
 */
async function expectEveryMemberHasAll(): Promise<void> {
  const missing = (): string[] =>
    members.flatMap((m) => [...(accepted.get(m.groupId) ?? [])].filter((seq) => !m.received.has(seq)).map((seq) => `${m.userId}#${seq}`));
  await eventually('every member has every accepted message', () => missing().length === 0, {
    timeoutMs: 120_000,
    explain: async () => {
      const who = new Set(missing().map((x) => x.split('#')[0]));
      const r = new Cluster(redis.seeds.map((seed) => ({ host: seed.split(':')[0], port: Number(seed.split(':')[1]) })));
      try {
        const lines: string[] = [];
        for (const m of members.filter((x) => who.has(x.userId))) {
          const [cursor, head, presence] = await Promise.all([r.hget(`im:{g:${m.groupId}}:cursors`, m.userId), r.get(`im:{g:${m.groupId}}:seq`), r.hgetall(`im:{u:${m.userId}}:presence`)]);
          const gates = await Promise.all(Object.values(presence).map(async (v) => `${v} registered=${(await r.get(`im:gate:{${v.split('|')[0]}}`)) !== null}`));
          lines.push(
            `${m.userId}: client ${m.client.state}, lastSeq ${m.client.lastSeq(m.groupId)}, received ${m.received.size} (max ${Math.max(0, ...m.received)}) of ${accepted.get(m.groupId)?.size}; Redis cursor ${cursor}, head ${head}; presence [${gates.join(', ')}]; errors ${JSON.stringify(errs.get(m.userId)?.slice(0, 3))}, closes ${JSON.stringify(closes.get(m.userId))}`,
          );
        }
        // What each process did with deliveries (why a member may have been skipped).
        const pick = (text: string, names: string[]): string =>
          text
            .split('\n')
            .filter((l) => names.some((n) => l.startsWith(n)) && !l.endsWith(' 0'))
            .join('; ');
        for (const l of sys.logic) {
          lines.push(`${l.name}: ${pick(await sys.metrics(l).catch(() => ''), ['imgroup_logic_fanout_skipped_total', 'imgroup_logic_deliveries_total', 'imgroup_logic_missed_users_total', 'imgroup_logic_session_cache_invalidations_total', 'imgroup_logic_offline_backlog_messages', 'imgroup_logic_gate_links'])}`);
        }
        for (const gate of sys.gates) {
          lines.push(`${gate.name}: ${pick(await sys.metrics(gate).catch(() => ''), ['imgroup_gate_deliveries_total', 'imgroup_gate_deliveries_dropped_total', 'imgroup_gate_gap_fills_total', 'imgroup_gate_presence_restored_total', 'imgroup_gate_logic_links_up'])}`);
        }
        return `${missing().length} missing (${missing().slice(0, 5).join(', ')} …)\n${lines.join('\n')}`;
      } finally {
        r.disconnect();
      }
    },
  });
}

/**
 * No accepted message is lost: every seq a sender was given is in its group's log, read page by page
 * through a member's own connection.
 */
async function expectEveryAcceptedMessageStored(): Promise<void> {
  for (let g = 0; g < GROUPS; g++) {
    const m = members[g * GROUP_SIZE + 1]!;
    const stored = new Set<number>();
    for (let after = 0; ; ) {
      const page = await m.client.sync(m.groupId, after, 1000);
      for (const msg of page.messages) stored.add(msg.seq);
      const last = page.messages.at(-1);
      if (last === undefined || !page.more) break;
      after = last.seq;
    }
    const missing = [...(accepted.get(m.groupId) ?? [])].filter((seq) => !stored.has(seq));
    expect(missing, `accepted messages of ${m.groupId} missing from its log`).toEqual([]);
  }
  expect(clientErrors).toEqual([]);
  expect(await gatesTotal('imgroup_gate_frame_errors_total', { code: ErrorCode.INTERNAL })).toBe(0);
}

describe('backpressure', () => {
  it('a Redis master stopped for 10 s: UNAVAILABLE instead of unbounded queues, bounded memory, nothing lost', async () => {
    const load = startLoad();
    await eventually('sends flow', () => load.sent() > 200);
    const unavailableBefore = await gatesTotal('imgroup_gate_frame_errors_total', { code: ErrorCode.UNAVAILABLE });
    const master = redis.nodes[0]!;
    process.kill(master.pid as number, 'SIGSTOP');
    const pausedAt = Date.now();
    let peaks: Peaks;
    try {
      // The fault lasts PAUSE_MS; meanwhile every process is scraped.
      peaks = await sampleWhile(() => Date.now() - pausedAt < PAUSE_MS);
    } finally {
      process.kill(master.pid as number, 'SIGCONT');
    }
    const unavailable = (await gatesTotal('imgroup_gate_frame_errors_total', { code: ErrorCode.UNAVAILABLE })) - unavailableBefore;
    let overload = 0;
    for (const l of sys.logic) overload += metricValue(await sys.metrics(l), 'imgroup_redis_errors_total', { kind: 'overload' });
    const sentAtResume = load.sent();
    await eventually('sends flow again after SIGCONT', () => load.sent() > sentAtResume + 200, 60_000);
    await load.stop();
    await everyGroupAcceptsSends();
    process.stdout.write(
      `backpressure (Redis master SIGSTOP ${PAUSE_MS} ms): ${unavailable} UNAVAILABLE answers, ${overload} Redis commands refused by the logic nodes' bound; peaks: gate pending ${peaks.gatePending}/${sys.logic.length * MAX_PENDING_REQUESTS}, gate link bytes ${peaks.gateBuffered}, Redis pending ${peaks.redisPending}/${MAX_REDIS_PENDING_COMMANDS} commands ${peaks.redisBytes}/${MAX_REDIS_PENDING_BYTES} bytes, RSS ${(peaks.rss / 2 ** 20).toFixed(0)} MiB (bound ${RSS_BOUND / 2 ** 20}); ${load.sent()} sends accepted\n`,
    );
    await expectEveryAcceptedMessageStored();
    await expectEveryMemberHasAll();
    expect(unavailable, 'clients were answered UNAVAILABLE while Redis did not answer').toBeGreaterThan(0);
    expectWithinBounds(peaks);
  }, 300_000);

  it('a logic node stopped for 10 s: gates stay within their bounds and route around it, nothing lost', async () => {
    const load = startLoad();
    await eventually('sends flow', () => load.sent() > 200);
    const logic = sys.logic[0]!;
    const pid = logic.process.pid as number;
    process.kill(pid, 'SIGSTOP');
    const pausedAt = Date.now();
    let peaks: Peaks;
    try {
      peaks = await sampleWhile(() => Date.now() - pausedAt < PAUSE_MS, logic);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const sentAtResume = load.sent();
    await eventually('sends flow again after SIGCONT', () => load.sent() > sentAtResume + 200, 60_000);
    await load.stop();
    await everyGroupAcceptsSends();
    const unavailable = await gatesTotal('imgroup_gate_frame_errors_total', { code: ErrorCode.UNAVAILABLE });
    const resent = await gatesTotal('imgroup_gate_route_retries_total');
    process.stdout.write(
      `backpressure (logic SIGSTOP ${PAUSE_MS} ms): ${unavailable} UNAVAILABLE answers in all, ${resent} requests re-sent to the new owner; peaks: gate pending ${peaks.gatePending}, gate link bytes ${peaks.gateBuffered}, RSS ${(peaks.rss / 2 ** 20).toFixed(0)} MiB\n`,
    );
    expectWithinBounds(peaks);
    await expectEveryAcceptedMessageStored();
    await expectEveryMemberHasAll();
  }, 300_000);
});
