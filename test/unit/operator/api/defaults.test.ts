import { describe, expect, it } from 'vitest';
import { applySchemaDefaults, defaultSpec } from '../../../../operator/api/defaults.js';
import { specSchema } from '../../../../operator/api/spec-schema.js';
import type { ImGroupClusterSpec } from '../../../../operator/api/v1alpha1.js';
import { FULL_SPEC, MINIMAL_SPEC } from './spec-fixtures.js';

/** The documented defaults, written out: a change of any default must change this test. */
// No `image`: an absent spec.image means the operator's default image (runtime-pod.ts).
const DEFAULTED_MINIMAL: ImGroupClusterSpec = {
  gate: {
    replicas: 2,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    service: { type: 'ClusterIP', port: 8080 },
    drainWindowMs: 10_000,
  },
  logic: {
    replicas: 3,
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
  },
  redis: { image: 'redis:7.2', masters: 3, replicasPerMaster: 1, minReplicasAck: 0, storage: { size: '1Gi' } },
  session: { ttlMs: 30_000, invalidation: true },
  offline: { retention: '168h', maxPerGroup: 10_000 },
  auth: {},
  networkPolicy: { enabled: true },
  paused: false,
};

describe('defaultSpec', () => {
  it('completes the issue\'s minimal spec with every documented default', () => {
    expect(defaultSpec(MINIMAL_SPEC)).toEqual(DEFAULTED_MINIMAL);
  });

  it('completes an empty or absent spec the same way (the minimal spec only repeats defaults)', () => {
    expect(defaultSpec({})).toEqual(DEFAULTED_MINIMAL);
    expect(defaultSpec(undefined)).toEqual(DEFAULTED_MINIMAL);
  });

  it('keeps every value a full spec gives', () => {
    expect(defaultSpec(FULL_SPEC)).toEqual(FULL_SPEC);
  });

  it('is idempotent', () => {
    const once = defaultSpec({ gate: { service: { type: 'NodePort' } }, redis: { storage: { storageClassName: 'x' } } });
    expect(defaultSpec(once)).toEqual(once);
  });

  it('fills nested defaults inside a partly given object', () => {
    const spec = defaultSpec({ gate: { service: { port: 9000 } }, redis: { storage: { storageClassName: 'standard' } } });
    expect(spec.gate.service).toEqual({ type: 'ClusterIP', port: 9000 });
    expect(spec.gate.replicas).toBe(2);
    expect(spec.redis.storage).toEqual({ size: '1Gi', storageClassName: 'standard' });
  });

  it('gives resources their default only when the whole field is absent (as the API server does)', () => {
    const spec = defaultSpec({ gate: { resources: { limits: { cpu: '1' } } } });
    expect(spec.gate.resources).toEqual({ limits: { cpu: '1' } });
  });

  it('treats null as absent and prunes fields the schema does not know', () => {
    const raw = { paused: null, gate: { replicas: 7, surprise: 1 }, extra: { a: 1 } } as unknown;
    const spec = applySchemaDefaults(specSchema, raw) as Record<string, unknown>;
    expect(spec.paused).toBe(false);
    expect(spec.gate).toMatchObject({ replicas: 7 });
    expect(spec.gate).not.toHaveProperty('surprise');
    expect(spec).not.toHaveProperty('extra');
  });

  it('does not mutate its input', () => {
    const input = { gate: { replicas: 1 } };
    defaultSpec(input);
    expect(input).toEqual({ gate: { replicas: 1 } });
  });

  it('does not share default objects between results', () => {
    const a = defaultSpec({});
    (a.gate.resources.requests as Record<string, string>).cpu = '9';
    expect(defaultSpec({}).gate.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
  });

  it('keeps a map key named __proto__ as data, without touching any prototype', () => {
    const raw = JSON.parse('{"gate":{"resources":{"limits":{"__proto__":"1","cpu":"2"}}}}') as unknown;
    const spec = applySchemaDefaults(specSchema, raw) as ImGroupClusterSpec;
    const limits = spec.gate.resources.limits as Record<string, unknown>;
    expect(Object.keys(limits).sort()).toEqual(['__proto__', 'cpu']);
    expect(Object.getPrototypeOf(limits)).toBe(Object.prototype);
  });

  it('leaves values of the wrong type for validation to report', () => {
    const spec = applySchemaDefaults(specSchema, { gate: 'big', redis: { masters: 'three' } }) as Record<string, unknown>;
    expect(spec.gate).toBe('big');
    expect(spec.redis).toMatchObject({ masters: 'three', replicasPerMaster: 1 });
  });
});
