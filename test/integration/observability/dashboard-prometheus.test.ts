/**
 * The Grafana dashboard against the real thing: real gate and logic processes under a short
 * load, scraped every second by a real Prometheus (Debian package `prometheus`) on loopback.
 * Every metric name the dashboard uses is one the processes export, every exported imgroup metric
 * is shown or listed as deliberately not shown, every gate and logic series the chart's alert rules
 * select is exported by the processes of that job, and every panel query, evaluated by Prometheus
 * through its HTTP API, returns data.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { concreteQuery, dashboardMetricNames, loadDashboard, loadNotShown, panelQueries, variableExpressions } from '../../support/dashboard.js';
import { familyOfSeries, type MetricFamily, parseExposition } from '../../support/exposition.js';
import { alertRules, jobsOf, selectorsIn, SYNTHETIC_SERIES } from '../../support/alert-rules.js';
import { PrometheusServer } from '../../support/prometheus-server.js';
import { SystemLoad } from '../../support/system-load.js';
import { TestSystem } from '../../support/system.js';

/** What `$__rate_interval` becomes: several scrapes (1 s apart) of a load that runs throughout. */
const RATE_INTERVAL = '30s';
/** Session cache bound of the logic nodes under test. */
const CACHE_ENTRIES = 16;
/** Scrapes of every target before the panels are queried. */
const MIN_SAMPLES = 8;

const dashboard = loadDashboard();
const notShown = loadNotShown();

let sys: TestSystem;
let load: SystemLoad | undefined;
let prom: PrometheusServer | undefined;
/** Every family exported by any of the processes, merged by name. */
const exported = new Map<string, MetricFamily>();
/** The families of the gates and of the logic nodes, by the job name the chart's PodMonitors give them. */
const exportedByJob = new Map<'imgroup-gate' | 'imgroup-logic', Map<string, MetricFamily>>();

beforeAll(async () => {
  // A session cache that holds the steady load (2 member lists + 6 users per node) but not the
  // crowd: the burst of the crowd's presence lookups evicts, so the evictions panel has data.
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 2, gates: 2, logLevel: 'warn', env: { IMGROUP_SESSION_CACHE_MAX_ENTRIES: String(CACHE_ENTRIES) } }).start();
  load = await SystemLoad.start(sys, { sendIntervalMs: 100, churnIntervalMs: 500, crowd: 3 * CACHE_ENTRIES });
  prom = await PrometheusServer.start({
    scrapeIntervalSeconds: 1,
    jobs: [
      { job: 'imgroup-gate', targets: sys.gates.map((g) => `127.0.0.1:${g.opsPort}`) },
      { job: 'imgroup-logic', targets: sys.logic.map((l) => `127.0.0.1:${l.opsPort}`) },
    ],
  });
  const targets = sys.gates.length + sys.logic.length;
  const p = prom;
  await p.waitFor(`${MIN_SAMPLES} scrapes of all ${targets} targets`, async () => {
    const counts = await p.vector('count_over_time(up[1m])');
    return counts.length === targets && counts.every((s) => Number(s.value[1]) >= MIN_SAMPLES);
  });
  await p.waitFor(`${MIN_SAMPLES} samples of stored messages`, async () => {
    const counts = await p.vector('count_over_time(imgroup_logic_messages_total{result="stored"}[1m])');
    return counts.some((s) => Number(s.value[1]) >= MIN_SAMPLES);
  });
  for (const [job, nodes] of [['imgroup-gate', sys.gates], ['imgroup-logic', sys.logic]] as const) {
    const families = new Map<string, MetricFamily>();
    exportedByJob.set(job, families);
    for (const node of nodes) {
      for (const [name, family] of parseExposition(await sys.metrics(node))) {
        if (!exported.has(name)) exported.set(name, family);
        if (!families.has(name)) families.set(name, family);
      }
    }
  }
});

afterAll(async () => {
  await prom?.stop();
  await load?.stop();
  await sys?.stop();
});

describe('the test Prometheus itself', () => {
  it('fails to start with a readable error and its log tail', async () => {
    const duplicate = { job: 'same', targets: ['127.0.0.1:1'] };
    await expect(PrometheusServer.start({ jobs: [duplicate, duplicate], startTimeoutMs: 15_000 })).rejects.toThrow(
      /Prometheus exited .* before it was ready; its log ends:\n[\s\S]*found multiple scrape configs with job name \\?"same/,
    );
    await expect(PrometheusServer.start({ jobs: [], binary: 'no-such-prometheus-binary' })).rejects.toThrow(/could not be started: .*ENOENT.*install the Debian package "prometheus"/);
  });
});

describe('Prometheus scraping a local imgroup system', () => {
  it('has every gate and logic process up', async () => {
    const up = await prom!.vector('up');
    expect(up.map((s) => [s.metric.job, s.value[1]]).sort()).toEqual([
      ['imgroup-gate', '1'],
      ['imgroup-gate', '1'],
      ['imgroup-logic', '1'],
      ['imgroup-logic', '1'],
    ]);
    expect((await prom!.targets()).filter((t) => t.health !== 'up')).toEqual([]);
  });

  it('saw the load move what the panels show: messages, deliveries, cache hits, evictions, invalidations', async () => {
    const total = async (expr: string) => Number((await prom!.vector(`sum(${expr})`))[0]?.value[1] ?? 0);
    expect(await total('imgroup_logic_messages_total{result="stored"}')).toBeGreaterThan(0);
    expect(await total('imgroup_logic_deliveries_total{path="online"}')).toBeGreaterThan(0);
    expect(await total('imgroup_logic_deliveries_total{path="offline"}')).toBeGreaterThan(0);
    expect(await total('imgroup_logic_session_cache_requests_total{result="hit"}')).toBeGreaterThan(0);
    expect(await total('imgroup_logic_session_cache_evictions_total')).toBeGreaterThan(0);
    expect(await total('imgroup_logic_session_cache_invalidations_total')).toBeGreaterThan(0);
  });
});

describe('the dashboard and the metrics the processes really export', () => {
  it('uses only metric names that gate and logic processes export', () => {
    expect([...dashboardMetricNames(dashboard)].filter((name) => !familyOfSeries(name, exported))).toEqual([]);
  });

  it('shows every exported imgroup metric, or lists it as deliberately not shown', () => {
    const shown = new Set([...dashboardMetricNames(dashboard)].map((name) => familyOfSeries(name, exported)?.name));
    const listed = new Set(notShown.map((e) => e.metric));
    const missing = [...exported.keys()].filter((name) => name.startsWith('imgroup_') && !shown.has(name) && !listed.has(name));
    expect(missing).toEqual([]);
  });

  it('lists as not shown only metrics that are exported', () => {
    expect(notShown.map((e) => e.metric).filter((m) => !exported.has(m))).toEqual([]);
  });
});

describe('the alert rules and the metrics the processes really export', () => {
  it('select only gate and logic series that the processes of the selected job export', () => {
    const selectors = alertRules().flatMap((r) => selectorsIn(r.expr).map((s) => ({ alert: r.alert, s })));
    const problems: string[] = [];
    let checked = 0;
    for (const { alert, s } of selectors) {
      if (SYNTHETIC_SERIES.has(s.metric)) continue;
      for (const job of jobsOf(s)) {
        const families = exportedByJob.get(job as 'imgroup-gate' | 'imgroup-logic');
        if (!families) continue; // the operator's: test/integration/operator/operator.test.ts
        checked++;
        if (!familyOfSeries(s.metric, families)) problems.push(`${alert}: ${job} does not export ${s.metric}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });
});

describe('every panel query evaluated by Prometheus', () => {
  it.each(variableExpressions(dashboard).map((v) => [v.name, v.expr] as const))('the $%s variable finds values', async (_, expr) => {
    expect((await prom!.vector(concreteQuery(expr, RATE_INTERVAL))).length).toBeGreaterThan(0);
  });

  it.each(panelQueries(dashboard).map((q) => [`${q.panel.title} [${q.target.refId}]`, q.target.expr] as const))('%s returns data', async (_, expr) => {
    const query = concreteQuery(expr, RATE_INTERVAL);
    const series = await prom!.vector(query);
    expect(series.length, `${query} returned no series`).toBeGreaterThan(0);
    const finite = series.filter((s) => Number.isFinite(Number(s.value[1])));
    expect(finite.length, `${query} returned only ${JSON.stringify(series.map((s) => s.value[1]))}`).toBeGreaterThan(0);
  });
});
