import { readFileSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { imGroupClusterCrd } from '../../../../operator/api/crd.js';
import { CRD_PATH, renderCrdYaml } from '../../../../operator/api/crd-yaml.js';
import { applySchemaDefaults, defaultSpec } from '../../../../operator/api/defaults.js';
import type { JsonSchemaProps, SchemaNode } from '../../../../operator/api/schema-builder.js';
import { specSchema } from '../../../../operator/api/spec-schema.js';
import { statusSchema } from '../../../../operator/api/status-schema.js';
import { validateAgainstSchema } from '../../../../operator/api/validation.js';
import { FULL_SPEC, MINIMAL_SPEC } from './spec-fixtures.js';

const committed = readFileSync(new URL(`../../../../${CRD_PATH}`, import.meta.url), 'utf8');

/** The committed YAML as an object (the client's loadYaml leaves objects without apiVersion/kind as they are). */
function parseCommitted(): Record<string, any> {
  const lines = committed.split('\n').filter((l) => !l.startsWith('#'));
  expect(lines[0]).toBe('apiVersion: apiextensions.k8s.io/v1');
  expect(lines[1]).toBe('kind: CustomResourceDefinition');
  const body = loadYaml<Record<string, any>>(lines.slice(2).join('\n'));
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', ...body };
}

const crd = parseCommitted();
const root: JsonSchemaProps = crd.spec.versions[0].schema.openAPIV3Schema;
const spec = root.properties?.spec as JsonSchemaProps;
const status = root.properties?.status as JsonSchemaProps;

function* walk(node: JsonSchemaProps, path: string): Generator<[string, JsonSchemaProps]> {
  yield [path, node];
  for (const [k, child] of Object.entries(node.properties ?? {})) yield* walk(child, `${path}.${k}`);
  if (node.additionalProperties) yield* walk(node.additionalProperties, `${path}[*]`);
  if (node.items) yield* walk(node.items, `${path}[]`);
}

function resolvePath(path: string): JsonSchemaProps | undefined {
  let node: JsonSchemaProps | undefined = root;
  for (const part of path.split('.')) node = node?.properties?.[part];
  return node;
}

/** API-server defaulting over the YAML schema, written independently of defaults.ts. */
function defaultFromYaml(node: JsonSchemaProps, value: unknown): unknown {
  const v = value === undefined && node.default !== undefined ? structuredClone(node.default) : value;
  if (v === undefined || typeof v !== 'object' || v === null || Array.isArray(v) || !node.properties) return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const [k, child] of Object.entries(node.properties)) {
    const d = defaultFromYaml(child, out[k]);
    if (d !== undefined) out[k] = d;
  }
  return out;
}

describe('the CRD file', () => {
  it('is what `make crds` generates from the TypeScript schema (run `make crds` after changing it)', () => {
    expect(committed).toBe(renderCrdYaml());
  });

  it('parses to the CRD object, x-kubernetes-* keys included', () => {
    expect(crd).toEqual(imGroupClusterCrd());
    expect(committed).toContain('x-kubernetes-validations:');
    expect(committed).toContain('x-kubernetes-int-or-string: true');
  });

  it('names the resource as the issue says', () => {
    expect(crd.metadata.name).toBe('imgroupclusters.imgroup.dev');
    expect(crd.spec.group).toBe('imgroup.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'ImGroupCluster', plural: 'imgroupclusters', shortNames: ['igc'] });
    expect(crd.spec.versions.map((v: { name: string }) => v.name)).toEqual(['v1alpha1']);
    expect(crd.spec.versions[0]).toMatchObject({ served: true, storage: true, subresources: { status: {} } });
  });

  it('has the printer columns Gates, Logic, Redis, Ready, Age on fields the status has', () => {
    const columns: { name: string; jsonPath: string; priority?: number }[] = crd.spec.versions[0].additionalPrinterColumns;
    expect(columns.filter((c) => !c.priority).map((c) => c.name)).toEqual(['Gates', 'Logic', 'Redis', 'Ready', 'Age']);
    for (const c of columns) {
      if (c.jsonPath.startsWith('.metadata.')) continue;
      const plain = c.jsonPath.replace(/\[\?\(.*\)\]/, '').slice(1);
      expect(resolvePath(plain.replace(/\.conditions\.status$/, '.conditions')), c.jsonPath).toBeDefined();
    }
  });
});

describe('the CRD schema', () => {
  it('describes every field, so `kubectl explain igc.spec` is useful', () => {
    for (const [path, node] of walk(root, '')) {
      if (path === '.metadata') continue;
      expect(node.description, `${path} has no description`).toMatch(/\S/);
    }
  });

  it('is structural: every node has a type or is int-or-string', () => {
    for (const [path, node] of walk(root, '')) {
      const ok = node.type !== undefined || (node['x-kubernetes-int-or-string'] === true && node.anyOf?.length === 2);
      expect(ok, path).toBe(true);
    }
  });

  it('gives every spec leaf a default except the image (the operator\'s default), the optional storage class and secret references', () => {
    const withoutDefault: string[] = [];
    for (const [path, node] of walk(spec, 'spec')) {
      // Network policy peers: absent lists have a documented meaning (any source; every pod).
      if (node.type !== 'object' && node.default === undefined && !path.includes('resources') && !/^spec\.networkPolicy\.(clientFrom|metricsFrom)/.test(path)) withoutDefault.push(path);
    }
    expect(withoutDefault).toEqual(['spec.image', 'spec.redis.storage.storageClassName', 'spec.redis.tls.secretRef.name', 'spec.auth.secretRef.name']);
  });

  it('has CEL messages that name a field of the schema', () => {
    let rules = 0;
    for (const [path, node] of walk(root, '')) {
      for (const r of node['x-kubernetes-validations'] ?? []) {
        rules++;
        const named = /^((?:spec|metadata)(?:\.[A-Za-z]+)+)/.exec(r.message)?.[1];
        expect(named, `${path}: ${r.message}`).toBeDefined();
        if (named?.startsWith('spec')) expect(resolvePath(named as string), named).toBeDefined();
        if (r.fieldPath) expect(node.properties?.[r.fieldPath.slice(1)], `${path} ${r.fieldPath}`).toBeDefined();
      }
    }
    expect(rules).toBeGreaterThanOrEqual(7);
  });

  it('has the transition rules: storage class and size immutable', () => {
    const storage = resolvePath('spec.redis.storage') as JsonSchemaProps;
    const transition = (storage['x-kubernetes-validations'] ?? []).filter((r) => r.rule.includes('oldSelf'));
    expect(transition.map((r) => r.fieldPath)).toEqual(['.storageClassName', '.size']);
    const redis = resolvePath('spec.redis') as JsonSchemaProps;
    expect(redis.properties?.masters?.minimum).toBe(3);
    expect((redis['x-kubernetes-validations'] ?? []).map((r) => r.rule)).toContain('self.masters >= 3');
  });

  it('declares conditions as a map list keyed by type (metav1.Condition)', () => {
    const conditions = status.properties?.conditions as JsonSchemaProps;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(conditions.items?.required).toEqual(['type', 'status', 'reason', 'message', 'lastTransitionTime']);
  });
});

describe('TypeScript and the CRD agree', () => {
  it('on every default: the YAML schema defaults the minimal spec to defaultSpec()', () => {
    expect(defaultFromYaml(spec, structuredClone(MINIMAL_SPEC))).toEqual(defaultSpec(MINIMAL_SPEC));
    expect(defaultFromYaml(spec, {})).toEqual(defaultSpec({}));
  });

  it('on every field: a spec that sets each TypeScript field sets each schema field, and no other', () => {
    const missing: string[] = [];
    const extra: string[] = [];
    const visit = (node: JsonSchemaProps, value: unknown, path: string): void => {
      if (!node.properties) return;
      const v = value as Record<string, unknown>;
      for (const k of Object.keys(node.properties)) {
        if (v[k] === undefined) missing.push(`${path}.${k}`);
        else visit(node.properties[k] as JsonSchemaProps, v[k], `${path}.${k}`);
      }
      for (const k of Object.keys(v)) if (!(k in node.properties)) extra.push(`${path}.${k}`);
    };
    visit(spec, FULL_SPEC, 'spec');
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('on every default being valid for its own field', () => {
    const check = (node: SchemaNode, path: string): void => {
      if (node.default !== undefined) expect(validateAgainstSchema(node, applySchemaDefaults(node, undefined), path)).toEqual([]);
      for (const [k, child] of Object.entries(node.properties ?? {})) check(child, `${path}.${k}`);
    };
    check(specSchema, 'spec');
    check(statusSchema, 'status');
  });
});
