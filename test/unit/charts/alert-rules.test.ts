/**
 * The chart's alert rules (charts/imgroup/alerts/imgroup.rules.yaml, embedded unchanged by the
 * PrometheusRule): `promtool check rules` and `promtool test rules` pass on the file that ships;
 * every alert carries a severity and the annotations a person needs, has a promtool test in which
 * it fires and one in which it must not, reads only series the processes behind the selected job
 * export (with labels they have and label values they can take), and is listed in the README.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONDITION_TYPES } from '../../../operator/api/v1alpha1.js';
import { CONTROLLER_NAME } from '../../../operator/controller/controller-metrics.js';
import { REFUSAL_KINDS } from '../../../runtime/logic/internal-server.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import {
  type AlertRule,
  alertRules,
  JOBS,
  type Job,
  jobsOf,
  loadRuleGroups,
  loadRuleTests,
  matches,
  RULES_FILE,
  RULES_TEST_FILE,
  type Selector,
  selectorsIn,
  SYNTHETIC_SERIES,
  TARGET_LABELS,
} from '../../support/alert-rules.js';
import { type ExportedFamily, exportedFamilies } from '../../support/exported-metrics.js';
import { familyOfSeries } from '../../support/exposition.js';
import { promtoolCheckRules, promtoolTestRules } from '../../support/promtool.js';

const rules = alertRules();
const ruleTests = loadRuleTests();
const README = readFileSync(join(RULES_FILE, '..', '..', '..', '..', 'README.md'), 'utf8');

/**
 * Closed label sets whose series do not exist until the first event, or are set to 0 outside the
 * metric factories (so no sample of a fresh registry shows them). Other labels without samples
 * (cluster names, versions, commands) are open sets and are not checked.
 */
const DECLARED_VALUES: Record<string, readonly string[]> = {
  'imgroup_operator_cluster_condition/condition': CONDITION_TYPES,
  'controller_runtime_reconcile_errors_total/controller': [CONTROLLER_NAME],
  'imgroup_logic_requests_total/code': ['ok', ...Object.values(ErrorCode)],
  'imgroup_logic_internal_refused_total/reason': REFUSAL_KINDS,
};

const exported = new Map<Job, Map<string, ExportedFamily>>();
beforeAll(async () => {
  for (const job of JOBS) exported.set(job, await exportedFamilies(job));
});

/** What is wrong with one selector read from `job` (empty when nothing). */
function selectorProblems(where: string, s: Selector, job: Job): string[] {
  if (SYNTHETIC_SERIES.has(s.metric)) return [];
  const family = familyOfSeries(s.metric, exported.get(job)!) as ExportedFamily | null;
  if (!family) return [`${where}: ${job} does not export ${s.metric}`];
  const problems: string[] = [];
  const ownLabels = new Set([...family.labelNames, ...(s.metric.endsWith('_bucket') ? ['le'] : [])]);
  for (const m of s.matchers) {
    if (TARGET_LABELS[job].includes(m.label)) continue;
    if (!ownLabels.has(m.label)) {
      problems.push(`${where}: ${s.metric} has no label ${m.label}`);
      continue;
    }
    if (m.label === 'le' || m.op.startsWith('!')) continue;
    const known = new Set([
      ...family.samples.map((x) => x.labels[m.label]).filter((v): v is string => v !== undefined),
      ...(DECLARED_VALUES[`${family.name}/${m.label}`] ?? []),
    ]);
    if (known.size === 0) continue; // an open set (cluster names, versions, commands)
    // An equality or a regex of plain alternatives: every alternative must be a value the label takes.
    const wanted = m.op === '=' ? [m.value] : /^[a-zA-Z0-9_|:.-]+$/.test(m.value) ? m.value.split('|') : null;
    if (wanted === null) {
      if (![...known].some((v) => matches(m, v))) problems.push(`${where}: ${s.metric}{${m.label}=~"${m.value}"} matches no value it takes`);
      continue;
    }
    for (const v of wanted) if (!known.has(v)) problems.push(`${where}: ${s.metric}{${m.label}} never takes "${v}" (takes ${[...known].join(', ')})`);
  }
  return problems;
}

describe('promtool on the rule file that ships', () => {
  it('`promtool check rules` passes', async () => {
    const r = await promtoolCheckRules(RULES_FILE);
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code).toBe(0);
  });

  it('`promtool test rules` passes, and the test file reads exactly that rule file', async () => {
    expect(ruleTests.rule_files).toEqual(['imgroup.rules.yaml']);
    const r = await promtoolTestRules(RULES_TEST_FILE);
    expect(r.output).toContain('SUCCESS');
    expect(r.code, r.output).toBe(0);
  });

  it('`promtool test rules` fails when an alert does not behave as its test says (the tests can fail)', async () => {
    const r = await promtoolTestRules(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'failing.rules.test.yaml'));
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/FAILED:[\s\S]*alertname: ImGroupRedisSlotsUnassigned/);
  });
});

describe('every alert', () => {
  it('has a unique ImGroup* name, in groups named imgroup-*', () => {
    const names = rules.map((r) => r.alert);
    expect(names.length).toBeGreaterThanOrEqual(12);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => !/^ImGroup[A-Z][A-Za-z]+$/.test(n))).toEqual([]);
    expect(loadRuleGroups().map((g) => g.name).filter((n) => !n.startsWith('imgroup-'))).toEqual([]);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s has a severity, a summary, a description and a runbook', (_, rule: AlertRule) => {
    expect(['critical', 'warning']).toContain(rule.labels?.severity);
    for (const key of ['summary', 'description', 'runbook']) expect(rule.annotations?.[key]?.length ?? 0, key).toBeGreaterThan(20);
    expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook', 'summary']);
  });

  it('is tested firing (with its rendered annotations) and tested silent', () => {
    const firing = new Map<string, number>();
    const silent = new Map<string, number>();
    const problems: string[] = [];
    for (const group of ruleTests.tests) {
      for (const c of group.alert_rule_test ?? []) {
        if (!rules.some((r) => r.alert === c.alertname)) problems.push(`test of unknown alert ${c.alertname}`);
        const exp = c.exp_alerts ?? [];
        const counter = exp.length > 0 ? firing : silent;
        counter.set(c.alertname, (counter.get(c.alertname) ?? 0) + 1);
        for (const a of exp) if (!a.exp_annotations?.summary) problems.push(`${group.name}: ${c.alertname} at ${c.eval_time} without its annotations`);
      }
    }
    for (const { alert } of rules) {
      if (!firing.get(alert)) problems.push(`${alert}: no test in which it fires`);
      if (!silent.get(alert)) problems.push(`${alert}: no test in which it must stay silent`);
    }
    expect(problems).toEqual([]);
  });

  it('selects every series by job, so that same-named metrics of other software are not read', () => {
    const problems = rules.flatMap((r) =>
      selectorsIn(r.expr)
        .filter((s) => !s.matchers.some((m) => m.label === 'job'))
        .map((s) => `${r.alert}: ${s.metric} without a job matcher`),
    );
    expect(problems).toEqual([]);
  });

  it('reads only series that the processes of its jobs export, by labels they have and values they take', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const r of rules) {
      for (const s of selectorsIn(r.expr)) {
        const jobs = jobsOf(s);
        if (jobs.length === 0) problems.push(`${r.alert}: ${s.metric} selects no job of the chart`);
        for (const job of jobs) {
          problems.push(...selectorProblems(r.alert, s, job));
          checked++;
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(rules.length);
  });

  it('is tested on input series that the processes export, with their labels and values', () => {
    const problems: string[] = [];
    for (const group of ruleTests.tests) {
      for (const { series } of group.input_series) {
        const [s] = selectorsIn(series);
        const job = s?.matchers.find((m) => m.label === 'job')?.value as Job | undefined;
        if (!s || !job || !JOBS.includes(job)) {
          problems.push(`${group.name}: ${series} has no job of the chart`);
          continue;
        }
        problems.push(...selectorProblems(`${group.name}: ${series}`, s, job));
      }
    }
    expect(problems).toEqual([]);
  });

  it('is listed in the README\'s Alerts section', () => {
    const section = /\n### Alerts\n([\s\S]*?)(\n## |\n### |$)/.exec(README)?.[1] ?? '';
    expect(section, 'README has a "### Alerts" section').not.toBe('');
    expect(rules.map((r) => r.alert).filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find a metric that is not exported, a label it lacks, a value it never takes and a wrong job', () => {
    const [missing] = selectorsIn('rate(imgroup_logic_no_such_total{job="imgroup-logic"}[5m])');
    const [label] = selectorsIn('imgroup_logic_offline_backlog_messages{job="imgroup-logic",kind="x"}');
    const [value] = selectorsIn('imgroup_logic_log_read_admissions_total{job="imgroup-logic",result=~"refused|denied"}');
    const [job] = selectorsIn('imgroup_gate_logic_links_up{job="imgroup-logic"}');
    expect(selectorProblems('t', missing!, 'imgroup-logic')).toEqual(['t: imgroup-logic does not export imgroup_logic_no_such_total']);
    expect(selectorProblems('t', label!, 'imgroup-logic')).toEqual(['t: imgroup_logic_offline_backlog_messages has no label kind']);
    expect(selectorProblems('t', value!, 'imgroup-logic')).toEqual([
      't: imgroup_logic_log_read_admissions_total{result} never takes "denied" (takes immediate, waited, refused)',
    ]);
    expect(jobsOf(job!)).toEqual(['imgroup-logic']);
    expect(selectorProblems('t', job!, 'imgroup-logic')).toEqual(['t: imgroup-logic does not export imgroup_gate_logic_links_up']);
  });

  it('read selectors with their matchers, histogram buckets and synthetic series included', () => {
    expect(
      selectorsIn('histogram_quantile(0.99, sum by (namespace, le) (rate(a_seconds_bucket{job="imgroup-operator",le!="x"}[15m]))) > 1 or absent(up{job=~"imgroup-gate|imgroup-logic"})'),
    ).toEqual([
      { metric: 'a_seconds_bucket', matchers: [{ label: 'job', op: '=', value: 'imgroup-operator' }, { label: 'le', op: '!=', value: 'x' }] },
      { metric: 'up', matchers: [{ label: 'job', op: '=~', value: 'imgroup-gate|imgroup-logic' }] },
    ]);
    expect(jobsOf({ metric: 'up', matchers: [{ label: 'job', op: '=~', value: 'imgroup-gate|imgroup-logic' }] })).toEqual(['imgroup-gate', 'imgroup-logic']);
  });
});
