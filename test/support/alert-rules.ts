/**
 * The chart's alert rules as tests read them: the rule file the PrometheusRule embeds, its
 * promtool test file, and the series selectors (metric, job and label matchers) of each alert's
 * expression, so that tests can ask whether the processes behind each job export what it reads.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '@kubernetes/client-node';
import { metricNamesIn } from './dashboard.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RULES_FILE = join(ROOT, 'charts', 'imgroup', 'alerts', 'imgroup.rules.yaml');
export const RULES_TEST_FILE = join(ROOT, 'charts', 'imgroup', 'alerts', 'imgroup.rules.test.yaml');

/**
 * The jobs the chart's ServiceMonitor and PodMonitors name, and the labels those scrapes add to
 * every series besides the process's own (Prometheus adds job and instance; the Prometheus
 * Operator namespace, pod, container, endpoint and, for a Service, service; the PodMonitors
 * imgroup_cluster).
 */
export const JOBS = ['imgroup-operator', 'imgroup-gate', 'imgroup-logic'] as const;
export type Job = (typeof JOBS)[number];
export const TARGET_LABELS: Readonly<Record<Job, readonly string[]>> = {
  'imgroup-operator': ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'service'],
  'imgroup-gate': ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'imgroup_cluster'],
  'imgroup-logic': ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'imgroup_cluster'],
};
/** Series Prometheus makes itself for every target. */
export const SYNTHETIC_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export function loadRuleGroups(file = RULES_FILE): RuleGroup[] {
  return loadYaml<{ groups: RuleGroup[] }>(readFileSync(file, 'utf8')).groups;
}

export function alertRules(file = RULES_FILE): AlertRule[] {
  return loadRuleGroups(file).flatMap((g) => g.rules);
}

export interface AlertTestCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }>;
}

export interface RuleTestGroup {
  name?: string;
  interval?: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test?: AlertTestCase[];
}

export function loadRuleTests(file = RULES_TEST_FILE): { rule_files: string[]; tests: RuleTestGroup[] } {
  return loadYaml<{ rule_files: string[]; tests: RuleTestGroup[] }>(readFileSync(file, 'utf8'));
}

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** The series name as written (`…_bucket` for a histogram's buckets). */
  metric: string;
  matchers: Matcher[];
}

const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;

/** Every selector of an expression: each metric name with the matchers written next to it. */
export function selectorsIn(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const metric of metricNamesIn(expr)) {
    const use = new RegExp(`(?<![a-zA-Z0-9_:])${metric}(?![a-zA-Z0-9_:(])\\s*(\\{[^}]*\\})?`, 'g');
    for (const m of expr.matchAll(use)) {
      const matchers = [...(m[1] ?? '').matchAll(MATCHER)].map((x) => ({ label: x[1] as string, op: x[2] as Matcher['op'], value: x[3] as string }));
      out.push({ metric, matchers });
    }
  }
  return out;
}

/** Whether a matcher accepts a label value (absent label = ''), as Prometheus decides it. */
export function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(value);
  }
}

/** The jobs a selector reads from: those its `job` matchers accept (all when it has none). */
export function jobsOf(s: Selector): Job[] {
  const jobMatchers = s.matchers.filter((m) => m.label === 'job');
  return JOBS.filter((job) => jobMatchers.every((m) => matches(m, job)));
}
