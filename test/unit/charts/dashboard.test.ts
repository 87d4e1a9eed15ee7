/**
 * The Grafana dashboard file on its own: it parses, every panel has a query, its PromQL follows
 * the rules a dashboard needs (rate windows from `$__rate_interval`, counters only under rate(),
 * quantiles per `le`, legends naming what they group by), it shows what issue 3 asks for, and the
 * not-shown list is consistent with it. That the metric names are the ones real processes export
 * is checked against real processes in test/integration/observability/dashboard-prometheus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  type Dashboard,
  concreteQuery,
  dashboardMetricNames,
  dataPanels,
  loadDashboard,
  loadNotShown,
  metricNamesIn,
  panelQueries,
  variableExpressions,
} from '../../support/dashboard.js';

const dashboard: Dashboard = loadDashboard();
const queries = panelQueries(dashboard);
const where = (q: { panel: { title: string }; target: { refId: string } }) => `${q.panel.title} [${q.target.refId}]`;

describe('metricNamesIn', () => {
  it.each([
    ['imgroup_gate_connections', ['imgroup_gate_connections']],
    ['sum by (instance) (rate(imgroup_redis_commands_total{job=~"$job",command="script:send"}[$__rate_interval]))', ['imgroup_redis_commands_total']],
    ['histogram_quantile(0.99, sum by (le, command) (rate(imgroup_redis_command_duration_seconds_bucket[5m])))', ['imgroup_redis_command_duration_seconds_bucket']],
    ['sum(rate(a_total[1m])) / sum(rate(b_total{result="stored"}[1m]))', ['a_total', 'b_total']],
    ['x_total offset 5m > bool 1e3', ['x_total']],
    ['a or on (instance) b * 0 unless ignoring (code) c', ['a', 'b', 'c']],
    ['sum without (instance) (x) + on (job) group_left (version) y', ['x', 'y']],
    ['count(count by (version) (imgroup_gate_membership_version_info{version!~"by|rate"}))', ['imgroup_gate_membership_version_info']],
    ['vector(0)', []],
  ])('%s → %j', (expr, names) => {
    expect(metricNamesIn(expr).sort()).toEqual([...names].sort());
  });
});

describe('concreteQuery', () => {
  it.each([
    ['rate(x{instance=~"$instance"}[$__rate_interval])', 'rate(x{instance=~".*"}[30s])'],
    ['rate(x{job=~"${job}"}[$__interval])', 'rate(x{job=~".*"}[30s])'],
    ['rate(x{job=~"${job:regex}",i=~"[[instance]]"}[${__rate_interval}])', 'rate(x{job=~".*",i=~".*"}[30s])'],
  ])('%s → %s', (expr, concrete) => {
    expect(concreteQuery(expr)).toBe(concrete);
  });
});

describe('the imgroup presence load dashboard', () => {
  it('is titled "imgroup presence load" with a stable uid', () => {
    expect(dashboard.title).toBe('imgroup presence load');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
  });

  it('takes its Prometheus data source from a variable, on every panel and query', () => {
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const wrong = [
      ...dataPanels(dashboard).filter((p) => p.datasource?.uid !== '${datasource}').map((p) => p.title),
      ...queries.filter((q) => q.target.datasource?.uid !== '${datasource}').map(where),
    ];
    expect(wrong).toEqual([]);
  });

  it('has job and instance variables whose "All" is the regex .*', () => {
    for (const name of ['job', 'instance']) {
      expect(dashboard.templating.list.find((v) => v.name === name)).toMatchObject({ type: 'query', includeAll: true, allValue: '.*' });
    }
    expect(variableExpressions(dashboard).map((v) => v.expr)).toEqual(['imgroup_redis_roundtrips_total', 'imgroup_redis_roundtrips_total{job=~"$job"}']);
  });

  it('gives every panel a query, a description, a unit and a unique id', () => {
    const panels = dataPanels(dashboard);
    expect(panels.length).toBeGreaterThanOrEqual(20);
    const problems: string[] = [];
    for (const p of panels) {
      if (!p.targets?.length || p.targets.some((t) => t.expr.trim() === '')) problems.push(`${p.title}: no query`);
      if (!p.description) problems.push(`${p.title}: no description`);
      if (!p.fieldConfig?.defaults?.unit) problems.push(`${p.title}: no unit`);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      if (new Set(refIds).size !== refIds.length) problems.push(`${p.title}: duplicate refId`);
    }
    expect(problems).toEqual([]);
    const ids = dashboard.panels.flatMap((p) => [p.id, ...(p.panels ?? []).map((c) => c.id)]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const boxes = dashboard.panels.map((p) => ({ title: p.title, ...p.gridPos }));
    const problems: string[] = [];
    for (const b of boxes) if (b.x < 0 || b.w < 1 || b.x + b.w > 24 || b.h < 1) problems.push(`${b.title}: outside the grid`);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) problems.push(`${a.title} overlaps ${b.title}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('takes every rate window from $__rate_interval', () => {
    const windows = queries.flatMap((q) => [...q.target.expr.matchAll(/\[([^\]]*)\]/g)].map((m) => `${where(q)}: [${m[1]}]`));
    expect(windows.length).toBeGreaterThan(20);
    expect(windows.filter((w) => !w.endsWith('[$__rate_interval]'))).toEqual([]);
  });

  it('never graphs a raw counter: every _total, _bucket, _sum, _count series is a range under rate() or increase()', () => {
    const problems: string[] = [];
    for (const q of queries) {
      for (const name of metricNamesIn(q.target.expr)) {
        if (!/_(total|bucket|sum|count)$/.test(name)) continue;
        const uses = [...q.target.expr.matchAll(new RegExp(`(\\w+)\\(\\s*${name}(\\{[^}]*\\})?(\\[[^\\]]*\\])?`, 'g'))];
        const all = q.target.expr.split(name).length - 1;
        const ranged = uses.filter((u) => (u[1] === 'rate' || u[1] === 'increase') && u[3]).length;
        if (ranged !== all) problems.push(`${where(q)}: ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('takes quantiles of histograms per le, and names in each legend what a query groups by', () => {
    const problems: string[] = [];
    for (const q of queries) {
      const { expr, legendFormat } = q.target;
      if (expr.includes('histogram_quantile') && !/by \(le\b/.test(expr)) problems.push(`${where(q)}: quantile not by le`);
      if (q.panel.type !== 'timeseries') continue;
      if (!legendFormat) problems.push(`${where(q)}: no legend`);
      for (const m of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of (m[1] as string).split(',').map((l) => l.trim())) {
          if (label !== 'le' && !legendFormat?.includes(`{{${label}}}`)) problems.push(`${where(q)}: legend lacks {{${label}}}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('shows what issue 3 asks for', () => {
    const text = queries.map((q) => q.target.expr).join('\n');
    const names = dashboardMetricNames(dashboard);
    for (const name of [
      'imgroup_gate_users',
      'imgroup_gate_connections',
      'imgroup_logic_messages_total',
      'imgroup_logic_deliveries_total',
      'imgroup_logic_session_cache_requests_total',
      'imgroup_redis_commands_total',
      'imgroup_logic_offline_backlog_messages',
      'imgroup_gate_membership_version_info',
    ]) {
      expect(names, name).toContain(name);
    }
    expect(text).toMatch(/sum by \(path\) \(rate\(imgroup_logic_deliveries_total/);
    expect(text).toMatch(/result="hit"\}\[\$__rate_interval\]\)\) \/ sum.*imgroup_logic_session_cache_requests_total/);
    expect(text).toMatch(/sum by \(command\) \(rate\(imgroup_redis_commands_total/);
    expect(text).toMatch(/sum\(rate\(imgroup_redis_commands_total\{[^}]*\}\[\$__rate_interval\]\)\) \/ sum\(rate\(imgroup_logic_messages_total\{[^}]*result="stored"/);
    for (const histogram of ['imgroup_redis_command_duration_seconds', 'imgroup_logic_presence_age_seconds']) {
      for (const quantile of ['0.5', '0.99']) expect(text, `${histogram} p${quantile}`).toContain(`histogram_quantile(${quantile}, sum by (le`);
      expect(names).toContain(`${histogram}_bucket`);
    }
  });

  it('uses only imgroup and Node.js process metric names', () => {
    expect([...dashboardMetricNames(dashboard)].filter((n) => !/^(imgroup|process|nodejs)_[a-z0-9_]+$/.test(n))).toEqual([]);
  });
});

describe('the list of metrics deliberately not shown', () => {
  const notShown = loadNotShown();

  it('names imgroup metrics once each, every one with a reason', () => {
    expect(notShown.length).toBeGreaterThan(0);
    for (const entry of notShown) {
      expect(entry.metric).toMatch(/^imgroup_[a-z0-9_]+$/);
      expect(entry.reason.length, entry.metric).toBeGreaterThan(30);
    }
    expect(new Set(notShown.map((e) => e.metric)).size).toBe(notShown.length);
  });

  it('does not list a metric that a panel shows', () => {
    const shown = dashboardMetricNames(dashboard);
    const familyShown = (m: string) => [...shown].some((n) => n === m || n.replace(/_(bucket|sum|count)$/, '') === m);
    expect(notShown.filter((e) => familyShown(e.metric)).map((e) => e.metric)).toEqual([]);
  });
});
