/**
 * The chart's metadata, values and values schema, without rendering: Chart.yaml follows the
 * package version, values.yaml is valid against values.schema.json, the schema rejects wrong types
 * and unknown keys everywhere, and the bounds it puts on operator settings are the operator's.
 */
import { describe, expect, it } from 'vitest';
import { OPERATOR_OPTIONS } from '../../../operator/operator-options.js';
import { chartText, chartYaml, packageVersion, valuesSchema } from '../../support/chart-files.js';
import { type JsonSchema, validateJsonSchema } from '../../support/json-schema.js';

const chart = chartYaml<Record<string, string>>('Chart.yaml');
const schema = valuesSchema();
const values = chartYaml('values.yaml');

describe('Chart.yaml', () => {
  it('is a v2 application chart named imgroup with a kubeVersion', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'imgroup', type: 'application' });
    expect(chart.kubeVersion).toMatch(/^>=1\.\d+\.\d+-0$/);
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('has appVersion = the package version (the default image tag of the operator, gates and logic)', () => {
    expect(chart.appVersion).toBe(packageVersion());
    expect(chartText('Chart.yaml')).toContain(`appVersion: "${packageVersion()}"`);
  });
});

describe('values.schema.json', () => {
  it('accepts values.yaml', () => {
    expect(validateJsonSchema(schema, values)).toEqual([]);
  });

  it('lists the top-level keys in one alphabetically sorted object (merges of other chart parts stay simple)', () => {
    const keys = Object.keys(schema.properties ?? {});
    expect(keys).toEqual([...keys].sort());
  });

  it('closes every object with fixed keys (additionalProperties: false) and types every map value', () => {
    const open: string[] = [];
    const visit = (node: JsonSchema, path: string): void => {
      if (node.properties) {
        if (node.additionalProperties !== false) open.push(path);
        for (const [k, child] of Object.entries(node.properties)) visit(child, `${path}.${k}`);
      }
      if (typeof node.additionalProperties === 'object') visit(node.additionalProperties, `${path}[*]`);
      if (node.items) visit(node.items, `${path}[]`);
    };
    visit(schema, '$');
    expect(open).toEqual([]);
  });

  it('has a property for every key of values.yaml and a value in values.yaml for every top-level property', () => {
    expect(Object.keys(values).sort()).toEqual(Object.keys(schema.properties ?? {}).filter((k) => k !== 'global').sort());
  });

  const valid = structuredClone(values);
  const withValue = (path: string, value: unknown): Record<string, unknown> => {
    const out = structuredClone(valid);
    const parts = path.split('.');
    let node = out as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts.at(-1) as string] = value;
    return out;
  };

  it.each([
    ['an unknown top-level key', 'replicas', 2, /unknown key replicas/],
    ['an unknown nested key', 'image.name', 'x', /unknown key name/],
    ['a string replica count', 'replicaCount', '2', /expected integer/],
    ['a negative replica count', 'replicaCount', -1, /minimum/],
    ['a boolean as the image tag', 'image.tag', true, /expected string/],
    ['a digest without its algorithm', 'image.digest', 'abc', /does not match/],
    ['an unknown pull policy', 'image.pullPolicy', 'Sometimes', /one of/],
    ['a string for crds.install', 'crds.install', 'yes', /expected boolean/],
    ['an unknown key under crds', 'crds.upgrade', true, /unknown key upgrade/],
    ['an invalid namespace name', 'watchNamespace', 'Chat_NS', /does not match/],
    ['an unknown log level', 'logLevel', 'verbose', /one of/],
    ['0 workers', 'workers', 0, /minimum/],
    ['a lease duration below the operator\'s bound', 'leaderElection.leaseDurationMs', 10, /minimum/],
    ['an ops port out of range', 'opsPort', 70000, /maximum/],
    ['a non-string annotation', 'podAnnotations', { a: 1 }, /expected string/],
    ['a pull secret without name', 'imagePullSecrets', [{}], /name is required/],
    ['an env entry with an unknown key', 'extraEnv', [{ name: 'A', valu: 'b' }], /unknown key valu/],
    ['a toleration with an unknown effect', 'tolerations', [{ key: 'k', effect: 'Never' }], /one of/],
    ['an unknown affinity kind', 'affinity', { nodeAfinity: {} }, /unknown key nodeAfinity/],
    ['an unknown resources key', 'resources', { request: {} }, /unknown key request/],
    ['an unknown serviceAccount key', 'serviceAccount.automount', true, /unknown key automount/],
  ])('rejects %s', (_case, path, value, message) => {
    const errors = validateJsonSchema(schema, withValue(path, value));
    expect(errors.join('\n')).toMatch(message);
  });

  it.each([
    ['HA', 'replicaCount', 2],
    ['a digest', 'image.digest', `sha256:${'0'.repeat(64)}`],
    ['a namespaced operator', 'watchNamespace', 'chat'],
    ['a numeric cpu quantity', 'resources', { requests: { cpu: 1 } }],
    ['a subchart\'s global values', 'global', { imageRegistry: 'r' }],
  ])('accepts %s', (_case, path, value) => {
    expect(validateJsonSchema(schema, withValue(path, value))).toEqual([]);
  });

  it('bounds operator settings exactly as the operator does (operator-options.ts)', () => {
    const props = schema.properties ?? {};
    const le = props.leaderElection?.properties ?? {};
    const pairs: [JsonSchema | undefined, string][] = [
      [props.workers, 'IMGROUP_OPERATOR_WORKERS'],
      [le.leaseDurationMs, 'IMGROUP_LEADER_LEASE_DURATION_MS'],
      [le.renewDeadlineMs, 'IMGROUP_LEADER_RENEW_DEADLINE_MS'],
      [le.retryPeriodMs, 'IMGROUP_LEADER_RETRY_PERIOD_MS'],
    ];
    for (const [node, env] of pairs) {
      const spec = OPERATOR_OPTIONS.find((o) => o.env === env);
      expect({ env, min: node?.minimum, max: node?.maximum }).toEqual({ env, min: spec?.min, max: spec?.max });
    }
    const defaults = values as { workers: number; leaderElection: Record<string, number>; logLevel: string; opsPort: number };
    const option = (env: string) => OPERATOR_OPTIONS.find((o) => o.env === env);
    expect(defaults.workers).toBe(option('IMGROUP_OPERATOR_WORKERS')?.default);
    expect(defaults.leaderElection).toEqual({
      leaseDurationMs: option('IMGROUP_LEADER_LEASE_DURATION_MS')?.default,
      renewDeadlineMs: option('IMGROUP_LEADER_RENEW_DEADLINE_MS')?.default,
      retryPeriodMs: option('IMGROUP_LEADER_RETRY_PERIOD_MS')?.default,
    });
    expect(defaults.opsPort).toBe(option('IMGROUP_OPS_PORT')?.default);
    expect(props.logLevel?.enum).toEqual([...(option('IMGROUP_LOG_LEVEL')?.choices ?? [])]);
  });
});
