/**
 * The `/metrics` of real gate and logic processes under a little traffic: every metric issue 3
 * names is there with its labels, `promtool check metrics` finds nothing, label values come from
 * closed sets (a client cannot create series), and no label carries a user, group or connection id.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeCodeLabel } from '../../../runtime/gate/gate-metrics.js';
import { CLIENT_FRAME_TYPES } from '../../../runtime/protocol/client-frames.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { labelNamesOf, labelValues, type MetricFamily, parseExposition, sampleSum } from '../../support/exposition.js';
import { promtoolCheckMetrics } from '../../support/promtool.js';
import { RawClient } from '../../support/raw-client.js';
import { SystemLoad } from '../../support/system-load.js';
import { type NodeHandle, TestSystem } from '../../support/system.js';

type Kind = 'gate' | 'logic';
interface Scrape {
  node: NodeHandle;
  kind: Kind;
  text: string;
  families: Map<string, MetricFamily>;
}

let sys: TestSystem;
let load: SystemLoad | undefined;
let scrapes: Scrape[] = [];

async function scrapeAll(): Promise<Scrape[]> {
  const nodes: Array<[NodeHandle, Kind]> = [...sys.gates.map((g) => [g, 'gate'] as [NodeHandle, Kind]), ...sys.logic.map((l) => [l, 'logic'] as [NodeHandle, Kind])];
  return Promise.all(
    nodes.map(async ([node, kind]) => {
      const text = await sys.metrics(node);
      return { node, kind, text, families: parseExposition(text) };
    }),
  );
}

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 2, gates: 2, logLevel: 'warn' }).start();
});
afterAll(async () => {
  await load?.stop();
  await sys?.stop();
});

describe('gate connection gauges', () => {
  it('count connections and distinct online users per gate', async () => {
    const [a1, a2, b] = [await sys.token('gauge-a'), await sys.token('gauge-a'), await sys.token('gauge-b')];
    const clients = [await RawClient.connect(sys.gates[0]!.wsUrl, a1), await RawClient.connect(sys.gates[0]!.wsUrl, a2), await RawClient.connect(sys.gates[0]!.wsUrl, b)];
    clients.forEach((c) => sys.track(c.ws));
    const families = parseExposition(await sys.metrics(sys.gates[0]!));
    expect(sampleSum(families.get('imgroup_gate_connections'))).toBe(3);
    expect(sampleSum(families.get('imgroup_gate_users'))).toBe(2);
    clients[0]!.close();
    await clients[0]!.waitClose();
    await eventually('imgroup_gate_connections at 2', async () => sampleSum(parseExposition(await sys.metrics(sys.gates[0]!)).get('imgroup_gate_connections')) === 2);
    const after = parseExposition(await sys.metrics(sys.gates[0]!));
    expect(sampleSum(after.get('imgroup_gate_users'))).toBe(2);
    for (const c of clients.slice(1)) c.close();
    await Promise.all(clients.map((c) => c.waitClose()));
    await eventually('imgroup_gate_users at 0', async () => sampleSum(parseExposition(await sys.metrics(sys.gates[0]!)).get('imgroup_gate_users')) === 0);
  });
});

describe('the /metrics of every process under load', () => {
  beforeAll(async () => {
    load = await SystemLoad.start(sys, { sendIntervalMs: 50, churnIntervalMs: 300 });
    await load.until({ sent: 40, acks: 10, reconnects: 4 });
    scrapes = await scrapeAll();
  });

  /** [name, type, labels every sample must carry]; the list plus what the dashboard needs. */
  const EXPECTED: Record<Kind | 'every', Array<[string, string, string[]]>> = {
    gate: [
      ['imgroup_gate_connections', 'gauge', []],
      ['imgroup_gate_users', 'gauge', []],
      ['imgroup_gate_connections_opened_total', 'counter', []],
      ['imgroup_gate_auth_failures_total', 'counter', ['reason']],
      ['imgroup_gate_frames_received_total', 'counter', ['type']],
      ['imgroup_gate_frame_errors_total', 'counter', ['code']],
      ['imgroup_gate_deliveries_total', 'counter', []],
      ['imgroup_gate_membership_version_info', 'gauge', ['version']],
      ['imgroup_gate_route_duration_seconds', 'histogram', []],
    ],
    logic: [
      ['imgroup_logic_messages_total', 'counter', ['result']],
      ['imgroup_logic_fanout_recipients', 'histogram', []],
      ['imgroup_logic_deliveries_total', 'counter', ['path']],
      ['imgroup_logic_session_cache_requests_total', 'counter', ['result']],
      ['imgroup_logic_session_cache_entries', 'gauge', []],
      ['imgroup_logic_session_cache_bytes', 'gauge', []],
      ['imgroup_logic_session_cache_evictions_total', 'counter', []],
      ['imgroup_logic_session_cache_invalidations_total', 'counter', []],
      ['imgroup_logic_presence_age_seconds', 'histogram', []],
      ['imgroup_logic_offline_backlog_messages', 'gauge', []],
      ['imgroup_logic_message_duration_seconds', 'histogram', ['stage']],
      ['imgroup_logic_storage_failures_total', 'counter', ['source']],
      // Labelled by op; no samples until a request is retried, so only its family is checked here.
      ['imgroup_logic_storage_retries_total', 'counter', []],
      ['imgroup_logic_storage_outages_total', 'counter', []],
    ],
    every: [
      ['imgroup_redis_commands_total', 'counter', ['command']],
      ['imgroup_redis_command_duration_seconds', 'histogram', ['command']],
      ['imgroup_redis_roundtrips_total', 'counter', []],
      // Labelled by kind; it has no samples until an error happens, so only its family is checked here.
      ['imgroup_redis_errors_total', 'counter', []],
      ['process_cpu_seconds_total', 'counter', []],
      ['process_resident_memory_bytes', 'gauge', []],
      ['process_open_fds', 'gauge', []],
      ['process_start_time_seconds', 'gauge', []],
      ['nodejs_eventloop_lag_seconds', 'gauge', []],
      ['nodejs_heap_size_used_bytes', 'gauge', []],
      ['nodejs_gc_duration_seconds', 'histogram', []],
    ],
  };

  it('exports every listed metric with its type and labels, on the processes it belongs to', () => {
    const problems: string[] = [];
    for (const s of scrapes) {
      for (const [name, type, labels] of [...EXPECTED[s.kind], ...EXPECTED.every]) {
        const f = s.families.get(name);
        if (!f) {
          problems.push(`${s.node.name}: ${name} missing`);
          continue;
        }
        if (f.type !== type) problems.push(`${s.node.name}: ${name} is a ${f.type}, expected ${type}`);
        if (labels.length > 0 && f.samples.length === 0) problems.push(`${s.node.name}: ${name} has no samples, so its labels cannot be checked`);
        const seen = labelNamesOf(f);
        for (const l of labels) if (f.samples.length > 0 && !seen.has(l)) problems.push(`${s.node.name}: ${name} lacks label ${l}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('moved under the load: gauges and counters show the traffic', () => {
    const gates = scrapes.filter((s) => s.kind === 'gate');
    const logic = scrapes.filter((s) => s.kind === 'logic');
    const total = (list: Scrape[], name: string, labels: Record<string, string> = {}, sample?: string) =>
      list.reduce((sum, s) => sum + sampleSum(s.families.get(name), labels, sample ?? name), 0);
    expect(total(gates, 'imgroup_gate_connections')).toBeGreaterThanOrEqual(5);
    expect(total(gates, 'imgroup_gate_auth_failures_total', { reason: 'invalid' })).toBe(gates.length);
    expect(total(gates, 'imgroup_gate_frame_errors_total', { code: 'UNKNOWN_TYPE' })).toBe(2);
    expect(total(gates, 'imgroup_gate_frames_received_total', { type: 'send' })).toBeGreaterThanOrEqual(40);
    expect(total(logic, 'imgroup_logic_messages_total', { result: 'stored' })).toBeGreaterThanOrEqual(41);
    expect(total(logic, 'imgroup_logic_deliveries_total', { path: 'online' })).toBeGreaterThan(0);
    expect(total(logic, 'imgroup_logic_deliveries_total', { path: 'offline' })).toBeGreaterThan(0);
    expect(total(logic, 'imgroup_logic_message_duration_seconds', { stage: 'stored' }, 'imgroup_logic_message_duration_seconds_count')).toBeGreaterThan(0);
    expect(total(logic, 'imgroup_logic_message_duration_seconds', { stage: 'delivered' }, 'imgroup_logic_message_duration_seconds_count')).toBeGreaterThan(0);
    expect(total(logic, 'imgroup_logic_session_cache_requests_total')).toBeGreaterThan(0);
    expect(total(logic, 'imgroup_logic_presence_age_seconds', {}, 'imgroup_logic_presence_age_seconds_count')).toBeGreaterThan(0);
    expect(total(scrapes, 'imgroup_redis_roundtrips_total')).toBeGreaterThan(0);
    for (const g of gates) expect(sampleSum(g.families.get('imgroup_gate_membership_version_info'))).toBe(1);
  });

  it('passes `promtool check metrics` on every process: no output, exit 0', async () => {
    const results = await Promise.all(scrapes.map(async (s) => ({ node: s.node.name, ...(await promtoolCheckMetrics(s.text)) })));
    expect(results).toEqual(scrapes.map((s) => ({ node: s.node.name, code: 0, output: '' })));
  });

  it('keeps frame types, error codes and close codes to closed sets, whatever clients send', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    for (const g of scrapes.filter((s) => s.kind === 'gate')) {
      const types = labelValues(g.families.get('imgroup_gate_frames_received_total')!, 'type');
      expect([...types].filter((t) => !(CLIENT_FRAME_TYPES as readonly string[]).includes(t))).toEqual([]);
      const errors = labelValues(g.families.get('imgroup_gate_frame_errors_total')!, 'code');
      expect([...errors].filter((c) => !codes.has(c))).toEqual([]);
      const closes = labelValues(g.families.get('imgroup_gate_connections_closed_total')!, 'code');
      expect([...closes].filter((c) => c !== 'other' && closeCodeLabel(Number(c)) !== c)).toEqual([]);
    }
    // The churning member closes with codes 3000, 3001, …: all of them are one series.
    const closed = scrapes.filter((s) => s.kind === 'gate').flatMap((g) => [...labelValues(g.families.get('imgroup_gate_connections_closed_total')!, 'code')]);
    expect(closed).toContain('other');
    const closedSets: Array<[string, string, string[]]> = [
      ['imgroup_logic_deliveries_total', 'path', ['online', 'offline', 'sweep']],
      ['imgroup_logic_session_cache_requests_total', 'result', ['hit', 'miss', 'stale']],
      ['imgroup_logic_message_duration_seconds', 'stage', ['stored', 'delivered']],
      ['imgroup_gate_deliveries_total', 'path', ['online', 'offline', 'sweep', 'gapfill']],
      ['imgroup_logic_storage_failures_total', 'source', ['request', 'ack', 'fanout', 'sweep']],
      ['imgroup_redis_errors_total', 'kind', ['timeout', 'connection', 'moved', 'ask', 'tryagain', 'clusterdown', 'loading', 'readonly', 'masterdown', 'busy', 'noscript', 'overload', 'reply']],
    ];
    for (const s of scrapes) {
      for (const [name, label, allowed] of closedSets) {
        const family = s.families.get(name);
        if (!family) continue;
        expect([...labelValues(family, label)].filter((v) => !allowed.includes(v)), `${s.node.name} ${name}{${label}}`).toEqual([]);
      }
    }
    for (const s of scrapes) {
      const commands = labelValues(s.families.get('imgroup_redis_commands_total')!, 'command');
      expect([...commands].filter((c) => !/^(script:)?[a-z][a-z0-9_.-]{0,31}$/.test(c))).toEqual([]);
    }
  });

  it('never puts a user, group or connection id in a label', () => {
    const ids = [...load!.userIds, ...load!.groupIds, 'gauge-a', 'gauge-b', ...load!.connIds];
    expect(load!.connIds.size).toBeGreaterThan(4);
    const leaks: string[] = [];
    for (const s of scrapes) {
      for (const f of s.families.values()) {
        if (!f.name.startsWith('imgroup_')) continue;
        for (const sample of f.samples) {
          for (const [k, v] of Object.entries(sample.labels)) {
            if (/user|group|conn|client|session/i.test(k)) leaks.push(`${s.node.name}: ${sample.name} has label ${k}`);
            if (ids.some((id) => v.includes(id))) leaks.push(`${s.node.name}: ${sample.name}{${k}="${v}"}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  });
});
