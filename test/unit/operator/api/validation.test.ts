import { describe, expect, it } from 'vitest';
import { formatFieldErrors, resolveImGroupCluster, validateSpec } from '../../../../operator/api/validation.js';
import { FULL_SPEC, MINIMAL_SPEC } from './spec-fixtures.js';

function withFull(patch: (s: Record<string, any>) => void): unknown {
  const s = structuredClone(FULL_SPEC) as Record<string, any>;
  patch(s);
  return s;
}

describe('validateSpec accepts', () => {
  it.each<[string, unknown]>([
    ['the minimal spec of the issue', MINIMAL_SPEC],
    ['an empty spec', {}],
    ['no spec at all', undefined],
    ['a spec with every field set', FULL_SPEC],
    ['quantities as integers', { gate: { resources: { limits: { cpu: 2 } } }, redis: { storage: { size: 10_737_418_240 } } }],
    ['zero gate and logic replicas', { gate: { replicas: 0 }, logic: { replicas: 0 } }],
    ['a session cache TTL of 0 (cache off)', { session: { ttlMs: 0 } }],
    ['the shortest retention', { offline: { retention: '1m' } }],
    ['the longest retention', { offline: { retention: '8760h' } }],
    ['a compound retention', { offline: { retention: '1h30m' } }],
    ['the largest Redis cluster', { redis: { masters: 500, replicasPerMaster: 1 } }],
    ['replica acks as many as the replicas', { redis: { replicasPerMaster: 2, minReplicasAck: 2 } }],
    ['replica acks without replicas at 0', { redis: { replicasPerMaster: 0, minReplicasAck: 0 } }],
    ['NodePort on port 1', { gate: { service: { type: 'NodePort', port: 1 } } }],
    ['NetworkPolicies off', { networkPolicy: { enabled: false } }],
    ['empty client and metrics source lists (none admitted)', { networkPolicy: { clientFrom: [], metricsFrom: [] } }],
    ['an IPv6 client block and a namespace-only metrics peer', { networkPolicy: { clientFrom: [{ ipBlock: { cidr: '2001:db8::/32' } }], metricsFrom: [{ namespaceSelector: {} }] } }],
  ])('%s', (_name, spec) => {
    expect(validateSpec(spec)).toEqual([]);
  });
});

describe('validateSpec rejects, naming the field', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['2 Redis masters', { redis: { masters: 2 } }, 'spec.redis.masters', /spec\.redis\.masters must be at least 3/],
    ['0 Redis masters', { redis: { masters: 0 } }, 'spec.redis.masters', /spec\.redis\.masters must be at least 3/],
    ['too many Redis nodes', { redis: { masters: 400, replicasPerMaster: 2 } }, 'spec.redis.replicasPerMaster', /at most 1000 Redis nodes/],
    ['6 replicas per master', { redis: { replicasPerMaster: 6 } }, 'spec.redis.replicasPerMaster', /spec\.redis\.replicasPerMaster must be at most 5/],
    ['more replica acks than replicas', { redis: { replicasPerMaster: 1, minReplicasAck: 2 } }, 'spec.redis.minReplicasAck', /spec\.redis\.minReplicasAck must be at most spec\.redis\.replicasPerMaster/],
    ['replica acks with the default replicas of 1', { redis: { minReplicasAck: 2 } }, 'spec.redis.minReplicasAck', /must be at most spec\.redis\.replicasPerMaster/],
    ['replica acks without replicas', { redis: { replicasPerMaster: 0, minReplicasAck: 1 } }, 'spec.redis.minReplicasAck', /must be at most spec\.redis\.replicasPerMaster/],
    ['6 replica acks', { redis: { replicasPerMaster: 5, minReplicasAck: 6 } }, 'spec.redis.minReplicasAck', /spec\.redis\.minReplicasAck must be at most 5/],
    ['negative replica acks', { redis: { minReplicasAck: -1 } }, 'spec.redis.minReplicasAck', /spec\.redis\.minReplicasAck must be at least 0/],
    ['fractional masters', { redis: { masters: 3.5 } }, 'spec.redis.masters', /spec\.redis\.masters must be an integer/],
    ['masters as a string', { redis: { masters: '3' } }, 'spec.redis.masters', /spec\.redis\.masters must be an integer/],
    ['negative gate replicas', { gate: { replicas: -1 } }, 'spec.gate.replicas', /spec\.gate\.replicas must be at least 0/],
    ['more logic pods than a membership document holds', { logic: { replicas: 1025 } }, 'spec.logic.replicas', /spec\.logic\.replicas must be at most 1024/],
    ['service port 0', { gate: { service: { port: 0 } } }, 'spec.gate.service.port', /spec\.gate\.service\.port must be at least 1/],
    ['service port 65536', { gate: { service: { port: 65_536 } } }, 'spec.gate.service.port', /spec\.gate\.service\.port must be at most 65535/],
    ['an unknown service type', { gate: { service: { type: 'ExternalName' } } }, 'spec.gate.service.type', /spec\.gate\.service\.type must be one of ClusterIP, NodePort, LoadBalancer/],
    ['a negative session TTL', { session: { ttlMs: -1 } }, 'spec.session.ttlMs', /spec\.session\.ttlMs must be at least 0/],
    ['a session TTL over a day', { session: { ttlMs: 86_400_001 } }, 'spec.session.ttlMs', /spec\.session\.ttlMs must be at most 86400000/],
    ['invalidation as a string', { session: { invalidation: 'yes' } }, 'spec.session.invalidation', /spec\.session\.invalidation must be true or false/],
    ['retention in days', { offline: { retention: '7d' } }, 'spec.offline.retention', /spec\.offline\.retention must match/],
    ['retention below a minute', { offline: { retention: '59s' } }, 'spec.offline.retention', /spec\.offline\.retention must be between 1m and 8760h/],
    ['retention over a year', { offline: { retention: '8761h' } }, 'spec.offline.retention', /spec\.offline\.retention must be between 1m and 8760h/],
    ['maxPerGroup 0', { offline: { maxPerGroup: 0 } }, 'spec.offline.maxPerGroup', /spec\.offline\.maxPerGroup must be at least 1/],
    ['a secretRef without a name', { auth: { secretRef: {} } }, 'spec.auth.secretRef.name', /spec\.auth\.secretRef\.name is required/],
    ['a secretRef with an invalid name', { auth: { secretRef: { name: 'Bad_Name' } } }, 'spec.auth.secretRef.name', /spec\.auth\.secretRef\.name must match/],
    ['an empty image', { image: '' }, 'spec.image', /spec\.image must be at least 1 characters/],
    ['a malformed quantity', { gate: { resources: { requests: { memory: 'lots' } } } }, 'spec.gate.resources.requests["memory"]', /spec\.gate\.resources\.requests\["memory"\] must match/],
    ['a malformed storage size', { redis: { storage: { size: '1 GB' } } }, 'spec.redis.storage.size', /spec\.redis\.storage\.size must match/],
    ['an empty storage class', { redis: { storage: { storageClassName: '' } } }, 'spec.redis.storage.storageClassName', /spec\.redis\.storage\.storageClassName must be at least 1 characters/],
    ['gate as a list', { gate: [] }, 'spec.gate', /spec\.gate must be an object/],
    ['paused as a number', { paused: 1 }, 'spec.paused', /spec\.paused must be true or false/],
    ['a peer with ipBlock and a selector', { networkPolicy: { clientFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] } }, 'spec.networkPolicy.clientFrom[0]', /spec\.networkPolicy\.clientFrom: each peer .* not both and not neither/],
    ['an empty peer', { networkPolicy: { metricsFrom: [{}] } }, 'spec.networkPolicy.metricsFrom[0]', /not both and not neither/],
    ['a CIDR without a prefix', { networkPolicy: { clientFrom: [{ ipBlock: { cidr: '10.0.0.1' } }] } }, 'spec.networkPolicy.clientFrom[0].ipBlock.cidr', /must match/],
    ['an ipBlock without cidr', { networkPolicy: { clientFrom: [{ ipBlock: {} }] } }, 'spec.networkPolicy.clientFrom[0].ipBlock.cidr', /is required/],
    ['33 client peers', { networkPolicy: { clientFrom: Array.from({ length: 33 }, () => ({ podSelector: {} })) } }, 'spec.networkPolicy.clientFrom', /at most 32 items/],
    ['a label value over 63 characters', { networkPolicy: { metricsFrom: [{ podSelector: { matchLabels: { app: 'x'.repeat(64) } } }] } }, 'spec.networkPolicy.metricsFrom[0].podSelector.matchLabels["app"]', /at most 63 characters/],
  ])('%s', (_name, spec, field, message) => {
    const errors = validateSpec(spec);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.field)).toContain(field);
    const error = errors.find((e) => e.field === field);
    expect(error?.message).toMatch(message);
    expect(error?.message.startsWith(field.replace(/\[.*$/, ''))).toBe(true);
  });

  it('reports every error, not only the first', () => {
    const fields = validateSpec({ gate: { replicas: -1 }, redis: { masters: 1 }, offline: { maxPerGroup: 0 } }).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.gate.replicas', 'spec.redis.masters', 'spec.offline.maxPerGroup']));
  });

  it('never throws on garbage', () => {
    for (const spec of [42, 'x', [], { redis: null }, { redis: { storage: 7 } }, { auth: { secretRef: 'x' } }, { gate: { resources: { limits: [] } } }]) {
      expect(() => validateSpec(spec)).not.toThrow();
    }
    expect(validateSpec(42)).toEqual([{ field: 'spec', message: 'spec must be an object (got 42)' }]);
  });
});

describe('transition rules (with the previous spec)', () => {
  const old = withFull(() => undefined);
  it.each<[string, unknown, string | null]>([
    ['an unchanged storage', withFull((s) => { s.redis.masters = 7; }), null],
    ['a changed storage class', withFull((s) => { s.redis.storage.storageClassName = 'slow-hdd'; }), 'spec.redis.storage.storageClassName'],
    ['a removed storage class', withFull((s) => { delete s.redis.storage.storageClassName; }), 'spec.redis.storage.storageClassName'],
    ['a changed storage size', withFull((s) => { s.redis.storage.size = '40Gi'; }), 'spec.redis.storage.size'],
    ['masters shrinking below 3', withFull((s) => { s.redis.masters = 2; }), 'spec.redis.masters'],
    ['masters shrinking to 3', withFull((s) => { s.redis.masters = 3; }), null],
  ])('%s', (_name, spec, field) => {
    const errors = validateSpec(spec, old);
    if (field === null) expect(errors).toEqual([]);
    else expect(errors.map((e) => e.field)).toContain(field);
  });

  it('rejects setting a storage class that was absent (the default class was used)', () => {
    const errors = validateSpec({ redis: { storage: { storageClassName: 'fast' } } }, {});
    expect(errors).toEqual([{ field: 'spec.redis.storage.storageClassName', message: expect.stringMatching(/^spec\.redis\.storage\.storageClassName is immutable/) }]);
  });

  it('does not apply transition rules on create', () => {
    expect(validateSpec(withFull((s) => { s.redis.storage.size = '40Gi'; }))).toEqual([]);
  });
});

describe('resolveImGroupCluster', () => {
  const meta = { name: 'chat', namespace: 'prod', uid: 'u-1' };

  it('returns the cluster with its spec defaulted', () => {
    const result = resolveImGroupCluster({ apiVersion: 'imgroup.dev/v1alpha1', kind: 'ImGroupCluster', metadata: meta, spec: MINIMAL_SPEC });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.cluster.metadata).toEqual(meta);
    expect(result.cluster.spec.offline.retention).toBe('168h');
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a name over 40 characters', { metadata: { ...meta, name: 'a'.repeat(41) } }, 'metadata.name', /^metadata\.name must be at most 40 characters/],
    ['a name starting with a digit', { metadata: { ...meta, name: '1chat' } }, 'metadata.name', /^metadata\.name must start with a lower-case letter/],
    ['a name with a dot', { metadata: { ...meta, name: 'chat.prod' } }, 'metadata.name', /^metadata\.name must start/],
    ['no uid', { metadata: { name: 'chat', namespace: 'prod' } }, 'metadata.uid', /^metadata\.uid must be a non-empty string/],
    ['no metadata', {}, 'metadata', /^metadata must be an object/],
    ['an invalid spec', { metadata: meta, spec: { redis: { masters: 1 } } }, 'spec.redis.masters', /^spec\.redis\.masters/],
  ])('rejects %s', (_name, obj, field, message) => {
    const result = resolveImGroupCluster(obj);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error?.message).toMatch(message);
    expect(formatFieldErrors(result.errors)).toContain(error?.message);
  });

  it('applies the transition rules against the previous object', () => {
    const old = { metadata: meta, spec: { redis: { storage: { storageClassName: 'a' } } } };
    const result = resolveImGroupCluster({ metadata: meta, spec: { redis: { storage: { storageClassName: 'b' } } } }, old);
    expect(result.ok).toBe(false);
  });

  it('rejects what is not an object', () => {
    expect(resolveImGroupCluster(null).ok).toBe(false);
    expect(resolveImGroupCluster('igc').ok).toBe(false);
  });
});
