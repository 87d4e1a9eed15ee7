/**
 * A Redis master SIGKILLed under continuous sending (issue 9 §2), end to end: a Redis Cluster of
 * this file's own (3 masters + 3 replicas, so the shared one is never killed), two real logic
 * nodes, two real gates, raw WebSocket clients sending on six groups (two on each master) and
 * retrying exactly what the README says is retryable (UNAVAILABLE, RATE_LIMITED) with the same id.
 *
 * While the replica takes over, no client sees INTERNAL or any other final error, every send is
 * accepted within SEND_BOUND_MS, the acknowledged seqs of each group are 1..n without a gap or a
 * double, every one of them is readable (sync) and delivered (login replay) afterwards, and each
 * logic node logs the outage a bounded number of times (not once per failed request).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../runtime/retry/backoff.js';
import { keys } from '../../../runtime/redis/keys.js';
import { eventually } from '../../support/eventually.js';
import { type Frame, RawClient } from '../../support/raw-client.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { metricValue, TestSystem } from '../../support/system.js';

const CLUSTER_NODE_TIMEOUT_MS = 2000;
/** The logic node's retry bound (IMGROUP_LOGIC_STORAGE_RETRY_MS, its default). */
const STORAGE_RETRY_MS = 3000;
/** The gates' IMGROUP_REQUEST_TIMEOUT_MS (default): the longest one attempt of a client can take. */
const GATE_REQUEST_TIMEOUT_MS = 5000;
/** The test clients' retry backoff (as runtime/client does, shorter). */
const CLIENT_BACKOFF = { minMs: 50, maxMs: 1000 };
/**
 * The longest a send may take from its first attempt to `sent`, generous on purpose (a busy
 * 2-core machine): Redis detects the dead master after cluster-node-timeout; a replica's election
 * can fail once and be retried after twice the failover auth timeout (2 × node timeout), i.e.
 * two rounds of up to 4 × node timeout; then the attempt in flight (at most one gate request
 * timeout, which covers the logic node's STORAGE_RETRY_MS) and one client backoff step.
 */
const SEND_BOUND_MS = CLUSTER_NODE_TIMEOUT_MS + 2 * 4 * CLUSTER_NODE_TIMEOUT_MS + GATE_REQUEST_TIMEOUT_MS + CLIENT_BACKOFF.maxMs;
/** Each sender waits this long between its sends: ~60 sends/s over six groups. */
const PACE_MS = 100;
/** Stop a sender here at the latest (login replay pushes up to 500 per group). */
const MAX_SENDS_PER_GROUP = 450;
/** Sends per group whose first attempt started after the promotion was seen. */
const SENDS_AFTER_PROMOTION = 10;
/** The logic log's outage line (runtime/logic/storage-health.ts). */
const OUTAGE_LINE = /"msg":"Redis unavailable \(failover/;
const RECOVERY_LINE = /"msg":"Redis available again"/;
/** An outage may be seen as more than one (a quiet spell while another master still answers), but never one per request. */
const MAX_OUTAGE_LINES_PER_NODE = 3;

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const addrOf = (seed: string) => ({ host: seed.slice(0, seed.lastIndexOf(':')), port: Number(seed.slice(seed.lastIndexOf(':') + 1)) });

let cluster: TestRedisCluster;
let sys: TestSystem;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, clusterNodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS });
  // A replica can take over only once it has synchronised with its master.
  await eventually('replicas in sync', async () => {
    const replies = await Promise.all(cluster.seeds.slice(3).map((seed) => cluster.admin.command(addrOf(seed), 'info', 'replication')));
    return replies.every((r) => String(r).includes('master_link_status:up'));
  });
  sys = await new TestSystem({ redisSeeds: cluster.seeds, logic: 2, gates: 2, heartbeatMs: 1000 }).start();
});
afterAll(async () => {
  await sys?.stop();
  await cluster?.stop();
});

interface SendRecord {
  id: string;
  body: string;
  startedAt: number;
  ackedAt: number | null;
  seq: number | null;
  /** The final error code, when the send was given up (a retryable code past the bound, or any other code). */
  failed: string | null;
}

/** Send `frame` and wait for the answer to this attempt (earlier answers to the same id are skipped). */
async function attempt(c: RawClient, frame: Frame): Promise<Frame> {
  const from = c.frames.length;
  c.send(frame);
  return c.next((f) => f.id === frame.id && (f.type === 'sent' || f.type === 'error') && c.frames.lastIndexOf(f) >= from, SEND_BOUND_MS);
}

/** One sender: sends on `groupId` until told to stop, retrying UNAVAILABLE and RATE_LIMITED with the same id. */
async function sendLoop(c: RawClient, groupId: string, stop: () => boolean, out: SendRecord[], codes: Map<string, number>): Promise<void> {
  for (let i = 1; !stop() && i <= MAX_SENDS_PER_GROUP; i++) {
    const rec: SendRecord = { id: `m${i}`, body: `${groupId}/${i}`, startedAt: Date.now(), ackedAt: null, seq: null, failed: null };
    out.push(rec);
    for (let n = 0; ; n++) {
      const res = await attempt(c, { type: 'send', id: rec.id, groupId, body: rec.body });
      if (res.type === 'sent') {
        rec.seq = res.seq as number;
        rec.ackedAt = Date.now();
        break;
      }
      const code = String(res.code);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if ((code !== 'UNAVAILABLE' && code !== 'RATE_LIMITED') || Date.now() - rec.startedAt > SEND_BOUND_MS) {
        rec.failed = code;
        break;
      }
      await sleep(backoffDelayMs(n, CLIENT_BACKOFF));
    }
    if (rec.failed !== null) return;
    await sleep(PACE_MS);
  }
}

/** Address of the master serving `slot`, as `seed` sees the cluster, and that master's node id. */
async function ownerOf(seed: string, slot: number): Promise<{ addr: string; id: string } | null> {
  const view = await cluster.admin.nodes(addrOf(seed));
  const owner = view.nodes.find((n) => n.role === 'master' && !n.flags.has('fail') && n.slots.some((r) => r.start <= slot && slot <= r.end));
  return owner ? { addr: `${owner.host}:${owner.port}`, id: owner.id } : null;
}

const slotOf = (groupId: string) => calculateSlot(keys.groupLog(groupId));

describe('a Redis master killed under continuous sending', () => {
  it('answers no request INTERNAL, accepts every send within the bound, loses nothing, and logs the outage once', { timeout: 240_000 }, async () => {
    // Two groups on each master (keys of a group share its {g:…} slot).
    const perMaster = new Map<string, string[]>();
    while ([...perMaster.values()].filter((gs) => gs.length >= 2).length < 3) {
      const g = uid('g');
      const owner = await ownerOf(cluster.seeds[0] as string, slotOf(g));
      if (!owner) throw new Error(`no master serves slot ${slotOf(g)}`);
      const list = perMaster.get(owner.addr) ?? [];
      if (list.length < 2) list.push(g);
      perMaster.set(owner.addr, list);
    }
    const groups = [...perMaster.values()].flat();
    const victim = (await ownerOf(cluster.seeds[0] as string, slotOf(groups[0] as string)))!;
    const victimIndex = cluster.seeds.indexOf(victim.addr);
    expect(victimIndex).toBeGreaterThanOrEqual(0);

    const senders: RawClient[] = [];
    const receivers: string[] = [];
    for (const g of groups) {
      const [alice, bob] = [uid('alice'), uid('bob')];
      await sys.addMembers(g, [alice, bob]);
      const a = await RawClient.connect(sys.gates[0]!.wsUrl, await sys.token(alice));
      sys.track(a.ws);
      senders.push(a);
      receivers.push(bob);
    }

    const records = new Map<string, SendRecord[]>(groups.map((g) => [g, []]));
    const codes = new Map<string, number>();
    let stopped = false;
    const loops = groups.map((g, i) => sendLoop(senders[i] as RawClient, g, () => stopped, records.get(g) as SendRecord[], codes));
    const acked = (g: string, after = 0) => (records.get(g) as SendRecord[]).filter((r) => r.seq !== null && r.startedAt >= after).length;
    const anyFailed = () => [...records.values()].flat().some((r) => r.failed !== null);

    await eventually('every group sending', () => anyFailed() || groups.every((g) => acked(g) >= 5));
    await cluster.nodes[victimIndex]!.kill();
    const killedAt = Date.now();

    const survivors = cluster.seeds.filter((_, i) => i !== victimIndex);
    await eventually(
      'a replica promoted in place of the killed master, the cluster ok again',
      async () => {
        if (anyFailed()) return true;
        try {
          for (const seed of survivors) {
            if ((await cluster.admin.clusterInfo(addrOf(seed))).state !== 'ok') return false;
            const owner = await ownerOf(seed, slotOf(groups[0] as string));
            if (!owner || owner.id === victim.id) return false;
          }
          return true;
        } catch {
          return false;
        }
      },
      120_000,
    );
    const promotedAt = Date.now();
    await eventually('sends after the promotion', () => anyFailed() || groups.every((g) => acked(g, promotedAt) >= SENDS_AFTER_PROMOTION), 120_000);
    // The outage ends with a success some quiet time after the last failure: wait for each node that logged one.
    const logOf = (i: number) => readFileSync(join(sys.dir, `logic-${i}.log`), 'utf8');
    await eventually('each logic node that logged the outage logged its end', () => {
      if (anyFailed()) return true;
      return sys.logic.every((_, i) => {
        const text = logOf(i);
        return !OUTAGE_LINE.test(text) || RECOVERY_LINE.test(text);
      });
    }, 60_000);
    stopped = true;
    await Promise.all(loops);

    // No client saw anything but the retryable codes, and every send was accepted.
    const all = [...records.values()].flat();
    const failed = all.filter((r) => r.failed !== null);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    expect([...codes.keys()].filter((c) => c !== 'UNAVAILABLE' && c !== 'RATE_LIMITED')).toEqual([]);
    const waits = all.map((r) => (r.ackedAt as number) - r.startedAt);
    const slowest = Math.max(...waits);
    expect(slowest).toBeLessThanOrEqual(SEND_BOUND_MS);

    // Nothing acknowledged is lost: per group, the acked seqs are 1..n, each readable and delivered.
    for (const [i, g] of groups.entries()) {
      const recs = records.get(g) as SendRecord[];
      expect(recs.map((r) => r.seq)).toEqual(recs.map((_, k) => k + 1));
      const bob = await RawClient.connect(sys.gates[1]!.wsUrl, await sys.token(receivers[i] as string));
      sys.track(bob.ws);
      const read: Frame[] = [];
      for (let more = true; more; ) {
        const page = await bob.request({ type: 'sync', id: `s${read.length}`, groupId: g, afterSeq: read.length, limit: 1000 });
        expect(page.type).toBe('sync.result');
        read.push(...(page.messages as Frame[]));
        more = page.more === true;
      }
      expect(read.map((m) => [m.seq, m.body])).toEqual(recs.map((r) => [r.seq, r.body]));
      // bob never acked: his login replay delivers every acknowledged message again.
      const replayed = await bob.waitMessages(g, recs.length, 30_000);
      expect([...new Set(replayed.map((m) => m.seq as number))].sort((x, y) => x - y)).toEqual(recs.map((r) => r.seq));
    }

    // The logic nodes: no INTERNAL answer, no per-request error line, the outage logged a bounded number of times.
    const metrics = await Promise.all(sys.logic.map((l) => sys.metrics(l)));
    const internal = metrics.reduce((n, m) => n + metricValue(m, 'imgroup_logic_requests_total', { code: 'INTERNAL' }), 0);
    const retries = metrics.reduce((n, m) => n + metricValue(m, 'imgroup_logic_storage_retries_total'), 0);
    const unavailable = metrics.reduce((n, m) => n + metricValue(m, 'imgroup_logic_requests_total', { code: 'UNAVAILABLE' }), 0);
    expect(internal).toBe(0);
    const logs = sys.logic.map((_, i) => logOf(i).split('\n'));
    const outageLines = logs.map((lines) => lines.filter((l) => OUTAGE_LINE.test(l)).length);
    const requestErrors = logs.map((lines) => lines.filter((l) => l.includes('"msg":"request failed')).length);
    expect(requestErrors).toEqual(sys.logic.map(() => 0));
    expect(Math.max(...outageLines)).toBeLessThanOrEqual(MAX_OUTAGE_LINES_PER_NODE);
    expect(outageLines.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(retries).toBeGreaterThan(0);

    const sorted = [...waits].sort((x, y) => x - y);
    const during = all.filter((r) => r.startedAt >= killedAt - 1000 && r.startedAt <= promotedAt);
    console.log(
      JSON.stringify({
        sends: all.length,
        promotedAfterMs: promotedAt - killedAt,
        slowestSendMs: slowest,
        p50SendMs: sorted[Math.floor(sorted.length / 2)],
        p99SendMs: sorted[Math.floor(sorted.length * 0.99)],
        sendsDuringFailover: during.length,
        slowestDuringFailoverMs: Math.max(...during.map((r) => (r.ackedAt as number) - r.startedAt)),
        clientErrorCodes: Object.fromEntries(codes),
        logicStorageRetries: retries,
        logicUnavailableAnswers: unavailable,
        outageLinesPerNode: outageLines,
        boundMs: SEND_BOUND_MS,
      }),
    );
  });
});
