/**
 * The example ImGroupClusters of charts/imgroup/examples/ against the CRD's schema in operator/api
 * (types, bounds, patterns and every CEL rule, through validation.ts), with no field the schema
 * does not know (the API server would prune it, and the example would not do what it says). The
 * end-to-end suite applies them to a real API server.
 */
import { readdirSync } from 'node:fs';
import type { V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SchemaNode } from '../../../operator/api/schema-builder.js';
import { specSchema } from '../../../operator/api/spec-schema.js';
import { API_VERSION, KIND } from '../../../operator/api/v1alpha1.js';
import { formatFieldErrors, resolveImGroupCluster } from '../../../operator/api/validation.js';
import { desiredState } from '../../../operator/desired/desired-objects.js';
import { CHART_DIR, chartYamlDocuments } from '../../support/chart-files.js';
import { restrictedViolations } from '../../support/pod-security-standard.js';

/** Paths in `value` that `node` does not declare. */
function unknownFields(node: SchemaNode, value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const child = node.kind === 'map' ? node.values : node.properties?.[k];
    if (!child) out.push(`${path}.${k}`);
    else out.push(...unknownFields(child, v, `${path}.${k}`));
  }
  return out;
}

type Example = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

const files = readdirSync(new URL('examples/', CHART_DIR)).filter((f) => f.endsWith('.yaml')).sort();

describe('charts/imgroup/examples', () => {
  it('would notice a misspelt field', () => {
    expect(unknownFields(specSchema, { gate: { replica: 1, resources: { requests: { cpu: 1 } } }, redis: { storage: { class: 'x' } } }, 'spec')).toEqual(['spec.gate.replica', 'spec.redis.storage.class']);
  });

  it('has the small (development) and production examples', () => {
    expect(files).toEqual(['production.yaml', 'small.yaml']);
  });

  describe.each(files)('%s', (file) => {
    const docs = chartYamlDocuments<Example>(`examples/${file}`);
    const example = docs[0] as Example;
    // What the API server adds before the operator reads it.
    const served = { ...example, metadata: { ...example.metadata, namespace: 'chat', uid: '00000000-0000-4000-8000-000000000001', generation: 1 } };

    it('is one ImGroupCluster named chat', () => {
      expect(docs).toHaveLength(1);
      expect(example).toMatchObject({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'chat' } });
    });

    it('is valid against the CRD schema and its rules', () => {
      const resolved = resolveImGroupCluster(served);
      expect(resolved.ok ? '' : formatFieldErrors(resolved.errors)).toBe('');
    });

    it('sets no field the schema does not know', () => {
      expect(unknownFields(specSchema, example.spec, 'spec')).toEqual([]);
    });

    it('gets pods that pass the restricted Pod Security Standard', () => {
      const sts = desiredState(served, { logicPods: [] }).objects.filter((o) => o.kind === 'StatefulSet') as V1StatefulSet[];
      expect(sts).toHaveLength(3);
      for (const s of sts) expect(restrictedViolations(s.spec?.template.spec as V1PodSpec), s.metadata?.name).toEqual([]);
    });
  });

  it('production sets resources, several Redis replicas and a StorageClass; small stays small', () => {
    const [production, small] = files.map((f) => resolveImGroupCluster({ ...chartYamlDocuments<Example>(`examples/${f}`)[0], metadata: { name: 'chat', namespace: 'chat', uid: 'u' } }));
    if (!production?.ok || !small?.ok) throw new Error('examples must be valid');
    const p = production.cluster.spec;
    expect(p.redis.storage.storageClassName).toBeDefined();
    expect(p.redis.replicasPerMaster).toBeGreaterThanOrEqual(1);
    expect(p.gate.resources.requests).toBeDefined();
    expect(p.logic.resources.limits).toBeDefined();
    expect(p.gate.replicas).toBeGreaterThanOrEqual(3);
    expect(small.cluster.spec.gate.replicas + small.cluster.spec.logic.replicas).toBeLessThan(p.gate.replicas + p.logic.replicas);
  });
});
