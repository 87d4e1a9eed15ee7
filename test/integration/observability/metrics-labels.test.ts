/**
 * `/metrics` never carries a user or group id, and every label of every family a process exports
 * takes its values from a closed set: real gate and logic processes are driven with many distinct,
 * recognisable user and group ids — in well-formed traffic and in hostile input that puts those
 * ids where a careless label would pick them up (unknown frame types, bad group ids, admin paths,
 * token subjects, forged internal links, client close codes) — then every process is scraped and
 * each label value is checked against the set derived from the code. A label this test does not
 * know fails it, so a new high-cardinality label cannot slip in unnoticed. The operator's families
 * are checked in their unit form (its registry as operator/main.ts builds it).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { CONTROLLER_NAMES } from '../../../operator/controller/controller-metrics.js';
import { INFORMER_RESTART_REASONS } from '../../../operator/controller/resilient-informer.js';
import { CONDITION_TYPES, PLURAL } from '../../../operator/api/v1alpha1.js';
import { REPAIR_KINDS } from '../../../operator/redis/lifecycle-types.js';
import type { AuthFailureReason } from '../../../runtime/gate/auth.js';
import type { DropReason } from '../../../runtime/gate/delivery-order.js';
import { REFUSAL_KINDS } from '../../../runtime/logic/internal-server.js';
import { REDIS_ERROR_KINDS } from '../../../runtime/redis/redis-errors.js';
import { STORAGE_FAILURE_SOURCES } from '../../../runtime/logic/logic-metrics.js';
import { CLIENT_FRAME_TYPES } from '../../../runtime/protocol/client-frames.js';
import { CloseCode, ErrorCode, HTTP_STATUS } from '../../../runtime/protocol/errors.js';
import { DELIVERY_PATHS, GATE_BOOT_HEADER, GATE_HEADER, INTERNAL_PATH, type InternalOp } from '../../../runtime/protocol/internal-frames.js';
import { exportedFamilies } from '../../support/exported-metrics.js';
import { type MetricFamily, parseExposition } from '../../support/exposition.js';
import { RawClient } from '../../support/raw-client.js';
import { type NodeHandle, TestSystem } from '../../support/system.js';

// ------------------------------------------------------------------ the closed sets, from the code

type Allowed = readonly string[] | RegExp;

const ERROR_CODES = Object.values(ErrorCode);
const INTERNAL_OPS = Object.keys({ send: 1, post: 1, sync: 1, login: 1, 'members.update': 1, 'members.get': 1 } satisfies Record<InternalOp, 1>);
const AUTH_REASONS = ['missing', 'invalid', 'expired'] as const satisfies readonly AuthFailureReason[];
const DROP_REASONS = ['duplicate', 'overflow', 'closed'] as const satisfies readonly (DropReason | 'closed')[];
const HTTP_STATUSES = ['200', ...new Set(Object.values(HTTP_STATUS).map(String))];
/** Close codes as the README documents them: the standard 1000-1015, imgroup's own, or `other`. */
const CLOSE_LABELS = [...new Set([...Array.from({ length: 16 }, (_, i) => String(1000 + i)), ...Object.values(CloseCode).map(String), 'other'])];
/** Redis command names as redis-metrics.ts records them (lowercase names, `script:<name>`). */
const REDIS_COMMAND = /^(script:)?[a-z][a-z0-9_.-]{0,31}$/;
/** A membership version: the digest buildMembership derives from the member list. */
const MEMBERSHIP_VERSION = /^[A-Za-z0-9_.:-]{1,64}$/;
/** The `le` of a histogram bucket. */
const BUCKET = /^(\+Inf|\d+(\.\d+)?(e[+-]?\d+)?)$/;
/** Names Node.js and V8 give (heap spaces, GC kinds, handle types): identifiers, never ids of ours. */
const RUNTIME_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const VERSION_PART = /^v?\d+(\.\d+){0,2}$/;

/** Every label of every family a gate or logic process exports: family → label → its values. */
const LABELS: Readonly<Record<string, Readonly<Record<string, Allowed>>>> = {
  imgroup_gate_connections_closed_total: { code: CLOSE_LABELS },
  imgroup_gate_auth_failures_total: { reason: AUTH_REASONS },
  imgroup_gate_frames_received_total: { type: CLIENT_FRAME_TYPES },
  imgroup_gate_frame_errors_total: { code: ERROR_CODES },
  imgroup_gate_deliveries_total: { path: DELIVERY_PATHS },
  imgroup_gate_deliveries_dropped_total: { reason: DROP_REASONS },
  imgroup_gate_gap_fills_total: { outcome: ['ok', 'failed'] },
  imgroup_gate_connections_drained_total: { wait: ['none', 'requests'] },
  imgroup_gate_membership_version_info: { version: MEMBERSHIP_VERSION },
  imgroup_gate_route_duration_seconds: { op: INTERNAL_OPS, outcome: ['ok', 'error', 'unavailable'], le: BUCKET },
  imgroup_gate_delivery_delay_seconds: { le: BUCKET },
  imgroup_gate_route_retries_total: { op: INTERNAL_OPS },
  imgroup_gate_admin_requests_total: { route: ['members', 'messages', 'presence', 'unknown'], status: HTTP_STATUSES },
  imgroup_logic_messages_total: { result: ['stored', 'duplicate', 'not_member', 'error'] },
  imgroup_logic_deliveries_total: { path: ['online', 'offline', 'sweep'] },
  imgroup_logic_replica_ack_seconds: { outcome: ['acked', 'shortfall', 'error'], le: BUCKET },
  imgroup_logic_replica_ack_shortfalls_total: { sent: ['true', 'false'] },
  imgroup_logic_fanout_recipients: { le: BUCKET },
  imgroup_logic_fanout_skipped_total: { reason: ['queue_full', 'no_link', 'slow_link', 'error'] },
  imgroup_logic_fanout_routes_total: { source: ['memo', 'lookup'] },
  imgroup_logic_internal_refused_total: { reason: REFUSAL_KINDS },
  imgroup_logic_requests_total: { op: INTERNAL_OPS, code: ['ok', ...ERROR_CODES] },
  imgroup_logic_acks_total: { result: ['applied', 'ignored', 'error'] },
  imgroup_logic_session_cache_requests_total: { kind: ['members', 'presence'], result: ['hit', 'miss', 'stale'] },
  imgroup_logic_session_cache_entries: { kind: ['members', 'presence'] },
  imgroup_logic_session_cache_evictions_total: { kind: ['members', 'presence'] },
  imgroup_logic_session_cache_invalidations_total: { kind: ['members', 'presence'], source: ['notice', 'missed', 'resubscribe', 'local'] },
  imgroup_logic_presence_age_seconds: { le: BUCKET },
  imgroup_logic_message_duration_seconds: { stage: ['stored', 'delivered'], le: BUCKET },
  imgroup_logic_log_read_bytes_total: { path: ['sync', 'replay', 'sweep'] },
  imgroup_logic_log_read_admissions_total: { result: ['immediate', 'waited', 'refused'] },
  imgroup_logic_storage_retries_total: { op: INTERNAL_OPS },
  imgroup_logic_storage_failures_total: { source: STORAGE_FAILURE_SOURCES },
  imgroup_redis_commands_total: { command: REDIS_COMMAND },
  imgroup_redis_command_duration_seconds: { command: REDIS_COMMAND, le: BUCKET },
  imgroup_redis_errors_total: { kind: REDIS_ERROR_KINDS },
  // prom-client's default process metrics (runtime/ops/process-metrics.ts).
  nodejs_eventloop_lag_seconds: {},
  nodejs_gc_duration_seconds: { kind: ['major', 'minor', 'incremental', 'weakcb'], le: BUCKET },
  nodejs_heap_space_size_total_bytes: { space: RUNTIME_NAME },
  nodejs_heap_space_size_used_bytes: { space: RUNTIME_NAME },
  nodejs_heap_space_size_available_bytes: { space: RUNTIME_NAME },
  nodejs_active_handles: { type: RUNTIME_NAME },
  nodejs_active_requests: { type: RUNTIME_NAME },
  nodejs_active_resources: { type: RUNTIME_NAME },
  nodejs_version_info: { version: VERSION_PART, major: /^\d+$/, minor: /^\d+$/, patch: /^\d+$/ },
};

/** The operator's families (unit form): what its labels may carry. */
const OPERATOR_LABELS: Readonly<Record<string, Readonly<Record<string, Allowed>>>> = {
  controller_runtime_reconcile_total: { controller: Object.values(CONTROLLER_NAMES), result: ['success', 'requeue_after', 'requeue', 'error', 'terminal'] },
  controller_runtime_reconcile_errors_total: { controller: Object.values(CONTROLLER_NAMES) },
  controller_runtime_reconcile_time_seconds: { controller: Object.values(CONTROLLER_NAMES), le: BUCKET },
  workqueue_depth: { name: Object.values(CONTROLLER_NAMES) },
  workqueue_adds_total: { name: Object.values(CONTROLLER_NAMES) },
  workqueue_retries_total: { name: Object.values(CONTROLLER_NAMES) },
  imgroup_operator_membership_publish_latency_seconds: { le: BUCKET },
  imgroup_operator_informer_restarts_total: { resource: [PLURAL, 'statefulsets', 'configmaps', 'services', 'pods'], reason: INFORMER_RESTART_REASONS },
  // One series per ImGroupCluster (`<namespace>/<name>`, Kubernetes names): few per operator.
  imgroup_operator_cluster_condition: { cluster: /^[a-z0-9-]{1,63}\/[a-z0-9.-]{1,253}$/, condition: CONDITION_TYPES },
  imgroup_operator_redis_repairs_total: { kind: REPAIR_KINDS },
  imgroup_operator_redis_slots_assigned: { cluster: /^[a-z0-9-]{1,63}\/[a-z0-9.-]{1,253}$/ },
};

const allows = (allowed: Allowed, value: string): boolean => (allowed instanceof RegExp ? allowed.test(value) : allowed.includes(value));

/** Labels not in `table`, and values outside their set, of every sample of `families`. */
function labelProblems(where: string, families: Iterable<MetricFamily>, table: typeof LABELS, ids: readonly string[]): string[] {
  const problems = new Set<string>();
  for (const f of families) {
    const known = table[f.name];
    if (known === undefined) {
      // A family without labels needs no entry; one with labels must be listed.
      for (const s of f.samples) for (const k of Object.keys(s.labels)) if (k !== 'le' && k !== 'quantile') problems.add(`${where}: ${f.name} has label ${k}, which this test does not know`);
      continue;
    }
    for (const s of f.samples) {
      for (const [k, v] of Object.entries(s.labels)) {
        const allowed = known[k];
        if (allowed === undefined) problems.add(`${where}: ${f.name} has label ${k}, which this test does not know`);
        else if (!allows(allowed, v)) problems.add(`${where}: ${f.name}{${k}="${v}"} is outside its closed set`);
        const leaked = ids.find((id) => v.includes(id));
        if (leaked !== undefined) problems.add(`${where}: ${f.name}{${k}="${v}"} carries the id ${leaked}`);
      }
    }
  }
  return [...problems];
}

// ------------------------------------------------------------------ the system and its load

const tag = randomBytes(4).toString('hex');
/** Recognisable ids: the tag makes any leak findable, whatever the label did to the rest. */
const users = Array.from({ length: 40 }, (_, i) => `lbl-u${i}-${tag}`);
const groups = Array.from({ length: 12 }, (_, i) => `lbl-g${i}-${tag}`);
let sys: TestSystem;
const scrapes: Array<{ node: NodeHandle; families: Map<string, MetricFamily> }> = [];

async function drive(): Promise<void> {
  // Members: each group gets 8 users; user i is in groups i % 12 and (i + 5) % 12 (or so).
  for (const [gi, g] of groups.entries()) await sys.addMembers(g, users.filter((_, ui) => ui % groups.length === gi || (ui + 5) % groups.length === gi));
  const clients = await Promise.all(users.map(async (u, i) => {
    const c = await RawClient.connect(sys.gates[i % sys.gates.length]!.wsUrl, await sys.token(u));
    sys.track(c.ws);
    return c;
  }));
  // Every user sends to its groups, syncs, acks; and hits every error path with its ids in it.
  await Promise.all(
    clients.map(async (c, i) => {
      const u = users[i]!;
      const mine = groups.filter((g) => users.filter((_, ui) => ui % groups.length === groups.indexOf(g) || (ui + 5) % groups.length === groups.indexOf(g)).includes(u));
      for (const g of mine) {
        const sent = await c.request({ type: 'send', id: `${u}-${g}`, groupId: g, body: `from ${u}` });
        if (sent.type !== 'sent') throw new Error(`send refused: ${JSON.stringify(sent)}`);
        c.send({ type: 'ack', groupId: g, seq: sent.seq });
        await c.request({ type: 'sync', id: `sync-${u}`, groupId: g, afterSeq: 0, limit: 5 });
      }
      const other = groups.find((g) => !mine.includes(g))!;
      expect(await c.request({ type: 'send', id: `nm-${u}`, groupId: other, body: 'x' })).toMatchObject({ code: 'NOT_MEMBER' });
      expect(await c.request({ type: 'sync', id: `nms-${u}`, groupId: other, afterSeq: 0 })).toMatchObject({ code: 'NOT_MEMBER' });
      c.send({ type: 'ack', groupId: other, seq: 1_000_000 }); // a non-member's ack, and past the head
      c.send({ type: u, id: u }); // an unknown type named after the user
      c.send({ type: 'send', id: u, groupId: `${other}/../${u}`, body: 'x' });
      c.send({ type: 'sync', id: u, groupId: `${u}\u0000`, afterSeq: -1 });
      c.send(`{"type":"ack","groupId":"${other}","seq":"${u}"}`);
      c.ws.send(Buffer.from(u), { binary: true });
      await c.next(() => c.frames.filter((f) => f.type === 'error' && f.id === u).length >= 3);
    }),
  );
  // Hostile handshakes and admin requests with the ids in them.
  for (const [i, u] of users.slice(0, 8).entries()) {
    const gate = sys.gates[i % sys.gates.length]!;
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(u).setExpirationTime('1h').sign(new TextEncoder().encode(`wrong-${u}-secret-0123456789abcdef`));
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(u).setExpirationTime(1).sign(new TextEncoder().encode(sys.jwtSecret));
    for (const token of [forged, expired, u]) expect(await handshakeStatus(`${gate.wsUrl}?token=${encodeURIComponent(token)}`)).toBe(401);
    const g = groups[i % groups.length]!;
    for (const [method, path] of [
      ['GET', `/v1/users/${u}/presence`],
      ['GET', `/v1/groups/${g}/members`],
      ['GET', `/v1/groups/${g}/owners`],
      ['GET', `/v1/${u}/${g}/presence`],
      ['DELETE', `/v1/groups/${g}/members`],
      ['GET', `/v1/groups/${g}%2f..%2f${u}/members`],
    ] as const) {
      await sys.admin(method, path, undefined, i % sys.gates.length);
    }
    const r = await fetch(`${gate.httpUrl}/v1/groups/${g}/members`, { headers: { authorization: `Bearer ${u}` } });
    expect(r.status).toBe(401);
    await r.body?.cancel();
    // A forged internal link naming the user as its gate, with a wrong and with no token.
    const logic = sys.logic[i % sys.logic.length]!;
    const forgedLinks: Array<Record<string, string>> = [{ authorization: `Bearer ${u}`, [GATE_HEADER]: u, [GATE_BOOT_HEADER]: g }, { [GATE_HEADER]: `${u}/..`, [GATE_BOOT_HEADER]: g }];
    for (const headers of forgedLinks) {
      expect(await handshakeStatus(`${logic.internalUrl}${INTERNAL_PATH}`, headers)).toBe(401);
    }
  }
  // Every client leaves with a close code of its own choosing, which the gates may not label.
  await Promise.all(clients.map((c, i) => {
    c.ws.close(3000 + ((i * 37) % 2000), users[i]);
    return c.waitClose();
  }));
}

function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 2, gates: 2, logLevel: 'warn' }).start();
  await drive();
  for (const node of [...sys.gates, ...sys.logic]) scrapes.push({ node, families: parseExposition(await sys.metrics(node)) });
}, 180_000);
afterAll(async () => {
  await sys?.stop();
});

describe('metric labels under load with many user and group ids', () => {
  it('carry no user or group id, and only values of their closed sets, on every gate and logic process', () => {
    const ids = [...users, ...groups, tag];
    const problems = scrapes.flatMap((s) => labelProblems(s.node.name, s.families.values(), LABELS, ids));
    expect(problems).toEqual([]);
  });

  it('saw the load: the error paths the ids went through were counted', () => {
    const gates = scrapes.filter((s) => s.node.name.startsWith('gate'));
    const total = (name: string, labels: Record<string, string>) =>
      gates.reduce((sum, s) => sum + (s.families.get(name)?.samples.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0) ?? 0), 0);
    expect(total('imgroup_gate_frame_errors_total', { code: 'UNKNOWN_TYPE' })).toBeGreaterThanOrEqual(users.length);
    expect(total('imgroup_gate_frame_errors_total', { code: 'NOT_MEMBER' })).toBeGreaterThanOrEqual(2 * users.length);
    expect(total('imgroup_gate_connections_closed_total', { code: 'other' })).toBeGreaterThan(0);
    expect(total('imgroup_gate_admin_requests_total', { route: 'unknown', status: '404' })).toBeGreaterThan(0);
    expect(total('imgroup_gate_auth_failures_total', { reason: 'expired' })).toBeGreaterThan(0);
    const logicRefused = scrapes.filter((s) => s.node.name.startsWith('logic')).reduce((sum, s) => sum + (s.families.get('imgroup_logic_internal_refused_total')?.samples.reduce((a, x) => a + x.value, 0) ?? 0), 0);
    expect(logicRefused).toBeGreaterThanOrEqual(16);
  });

  it('knows every label of the operator families (unit form) and their initial values', async () => {
    const families = [...(await exportedFamilies('imgroup-operator')).values()];
    const isProcess = (f: MetricFamily) => f.name.startsWith('nodejs_') || f.name.startsWith('process_');
    const own = families.filter((f) => !isProcess(f));
    const problems = labelProblems('operator', own, OPERATOR_LABELS, []);
    // Declared label names too: the operator's families have few samples before it runs.
    for (const f of own) for (const l of f.labelNames) if (OPERATOR_LABELS[f.name]?.[l] === undefined) problems.push(`operator: ${f.name} declares label ${l}, which this test does not know`);
    problems.push(...labelProblems('operator', families.filter(isProcess), LABELS, []));
    expect(own.length).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });
});
