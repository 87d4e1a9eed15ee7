import type { V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { AUTH_SECRET_KEYS, type AuthSecretValues } from '../../../../operator/desired/auth-secret.js';
import { desiredState } from '../../../../operator/desired/desired-objects.js';
import {
  authSecretValues,
  GATE_SECRETS_ANNOTATION,
  gateSecretsHash,
  SHARED_SECRETS_ANNOTATION,
  secretRollout,
  sharedSecretsHash,
} from '../../../../operator/desired/secret-rollout.js';
import { cluster } from './cluster-fixture.js';

const V: AuthSecretValues = { jwtSecret: 'j'.repeat(40), adminToken: 'admin', internalToken: 'internal', redisPassword: 'redis' };
const w = (change: Partial<AuthSecretValues>): AuthSecretValues => ({ ...V, ...change });
const secretOf = (v: Partial<Record<string, string>>): V1Secret => ({ data: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Buffer.from(x as string).toString('base64')])) });
const asSecret = (v: AuthSecretValues) =>
  secretOf({ [AUTH_SECRET_KEYS.jwtSecret]: v.jwtSecret, [AUTH_SECRET_KEYS.adminToken]: v.adminToken, [AUTH_SECRET_KEYS.internalToken]: v.internalToken, [AUTH_SECRET_KEYS.redisPassword]: v.redisPassword });

function statefulSets(gateHash?: string, sharedHash?: string) {
  const sets = desiredState(cluster(), { logicPods: [], secrets: { gateHash, sharedHash } }).objects.filter((o): o is V1StatefulSet => o.kind === 'StatefulSet');
  const by = (n: string) => sets.find((s) => s.metadata?.name === `chat-${n}`) as V1StatefulSet;
  return { gate: by('gate'), logic: by('logic'), redis: by('redis') };
}

describe('secret fingerprints', () => {
  it('change with each value they cover and with no other', () => {
    expect(gateSecretsHash(w({ jwtSecret: 'k'.repeat(40) }))).not.toBe(gateSecretsHash(V));
    expect(gateSecretsHash(w({ adminToken: 'admin2' }))).not.toBe(gateSecretsHash(V));
    expect(gateSecretsHash(w({ internalToken: 'x', redisPassword: 'y' }))).toBe(gateSecretsHash(V));
    expect(sharedSecretsHash(w({ internalToken: 'internal2' }))).not.toBe(sharedSecretsHash(V));
    expect(sharedSecretsHash(w({ redisPassword: 'redis2' }))).not.toBe(sharedSecretsHash(V));
    expect(sharedSecretsHash(w({ jwtSecret: 'k'.repeat(40), adminToken: 'z' }))).toBe(sharedSecretsHash(V));
  });

  it('do not contain the values', () => {
    for (const h of [gateSecretsHash(V), sharedSecretsHash(V)]) {
      expect(h).toMatch(/^[0-9a-f]{32}$/);
      for (const v of Object.values(V)) expect(h).not.toContain(v);
    }
  });
});

describe('authSecretValues', () => {
  it('decodes the four keys', () => {
    expect(authSecretValues(asSecret(V))).toEqual({ ok: true, values: V });
  });
  it.each([
    ['no data', {}, ['jwt-secret', 'admin-token', 'internal-token', 'redis-password']],
    ['an empty admin-token', { ...asSecret(V).data, [AUTH_SECRET_KEYS.adminToken]: '' }, ['admin-token']],
  ])('names what is missing: %s', (_, data, missing) => {
    expect(authSecretValues({ data })).toEqual({ ok: false, missing });
  });
});

describe('secretRollout', () => {
  const gate = gateSecretsHash(V);
  const shared = sharedSecretsHash(V);

  it('adopts the Secret when nothing is recorded yet (a new cluster)', () => {
    expect(secretRollout(V, {})).toEqual({ gateHash: gate, sharedHash: shared, state: { kind: 'applied' } });
  });

  it('follows an edit of jwt-secret or admin-token: a new gate template fingerprint', () => {
    const edited = { ...V, jwtSecret: 'n'.repeat(40) };
    const r = secretRollout(edited, { gateTemplate: gate, shared });
    expect(r).toEqual({ gateHash: gateSecretsHash(edited), sharedHash: shared, state: { kind: 'applied' } });
    expect(r.gateHash).not.toBe(gate);
  });

  it('holds the gates and keeps the record when internal-token or redis-password changed', () => {
    for (const edited of [{ ...V, internalToken: 'new' }, { ...V, redisPassword: 'new', jwtSecret: 'n'.repeat(40) }]) {
      expect(secretRollout(edited, { gateTemplate: gate, shared })).toEqual({ gateHash: gate, sharedHash: shared, state: { kind: 'sharedChanged' } });
    }
  });

  it('adopts the new shared values once the record is removed (the rotation acknowledged)', () => {
    const edited = { ...V, internalToken: 'new', jwtSecret: 'n'.repeat(40) };
    expect(secretRollout(edited, { gateTemplate: gate })).toEqual({ gateHash: gateSecretsHash(edited), sharedHash: sharedSecretsHash(edited), state: { kind: 'applied' } });
  });

  it('changes nothing while the Secret cannot be read', () => {
    expect(secretRollout({ unreadable: 'Secret chat-auth does not exist' }, { gateTemplate: gate, shared })).toEqual({
      gateHash: gate,
      sharedHash: shared,
      state: { kind: 'unreadable', reason: 'Secret chat-auth does not exist' },
    });
  });
});

describe('the fingerprints in the StatefulSets', () => {
  it('a new gate fingerprint changes the gate pod template only; the shared one changes no pod template', () => {
    const a = statefulSets('g1', 's1');
    const b = statefulSets('g2', 's2');
    expect(a.gate.spec?.template.metadata?.annotations).toEqual({ [GATE_SECRETS_ANNOTATION]: 'g1' });
    expect(b.gate.spec?.template).not.toEqual(a.gate.spec?.template);
    expect(a.logic.metadata?.annotations).toEqual({ [SHARED_SECRETS_ANNOTATION]: 's1' });
    expect(b.logic.spec).toEqual(a.logic.spec);
    expect(b.redis).toEqual(a.redis);
  });

  it('are absent without fingerprints', () => {
    const s = statefulSets();
    expect(s.gate.spec?.template.metadata?.annotations).toBeUndefined();
    expect(s.logic.metadata?.annotations).toBeUndefined();
  });
});
