/**
 * The Grafana dashboard as tests read it: its panels and their PromQL, the metric names each
 * expression uses, the list of exported metrics deliberately not shown, and the expressions with
 * Grafana's variables replaced so that Prometheus itself can evaluate them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DASHBOARD_FILE = join(ROOT, 'charts', 'imgroup', 'dashboards', 'imgroup-presence-load.json');
export const NOT_SHOWN_FILE = join(ROOT, 'charts', 'imgroup', 'dashboards', 'imgroup-presence-load.not-shown.json');

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  datasource?: { type?: string; uid?: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string; noValue?: string } };
  targets?: Target[];
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
  allValue?: string;
  includeAll?: boolean;
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
}

export interface NotShown {
  metric: string;
  reason: string;
}

export function loadDashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

export function loadNotShown(file = NOT_SHOWN_FILE): NotShown[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { metrics: NotShown[] };
  return doc.metrics;
}

/** Every panel that shows data (rows, and the panels inside collapsed rows, flattened). */
export function dataPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels) {
    if (p.type === 'row') out.push(...(p.panels ?? []));
    else out.push(p);
  }
  return out;
}

/** The PromQL inside a query variable: `label_values(<selector>, label)` → the selector. */
export function variableExpressions(d: Dashboard): Array<{ name: string; expr: string }> {
  const out: Array<{ name: string; expr: string }> = [];
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
    const m = /^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(q);
    out.push({ name: v.name, expr: m ? (m[1] as string) : q });
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2', 'start', 'end']);
const CLAUSE = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi;

/**
 * The metric (series) names a PromQL expression selects, e.g. `…_bucket` for a histogram.
 * Strings, label matchers, ranges and grouping clauses are removed first; what is left that is
 * an identifier and not a function call or keyword is a metric name.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(CLAUSE, ' ')
    .replace(/\b(group_left|group_right)\b/gi, ' ');
  const names = new Set<string>();
  const ident = /(^|[^a-zA-Z0-9_:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*(\()?)/g;
  for (let m = ident.exec(stripped); m; m = ident.exec(stripped)) {
    const name = m[2] as string;
    if (m[3] === '(') continue;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/**
 * An expression Prometheus can run: Grafana's interval macros become `rateInterval`, template
 * variables (`$job`, `${job}`, `[[job]]`) become `.*` — every one of our selectors matches
 * variables with `=~`, so `.*` means "All".
 */
export function concreteQuery(expr: string, rateInterval = '30s'): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}|\$__range|\$\{__range\}/g, rateInterval)
    .replace(/\$\{[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[a-zA-Z_][a-zA-Z0-9_]*\]\]/g, '.*');
}

/** Every (panel, target) pair with an expression, in dashboard order. */
export function panelQueries(d: Dashboard): Array<{ panel: Panel; target: Target }> {
  return dataPanels(d).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
}

/** Metric names used by the dashboard: panel queries and variable queries. */
export function dashboardMetricNames(d: Dashboard): Set<string> {
  const names = new Set<string>();
  for (const { target } of panelQueries(d)) for (const n of metricNamesIn(target.expr)) names.add(n);
  for (const v of variableExpressions(d)) for (const n of metricNamesIn(v.expr)) names.add(n);
  return names;
}
