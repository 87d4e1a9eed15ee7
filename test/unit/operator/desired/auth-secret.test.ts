import { describe, expect, it } from 'vitest';
import { type AuthSecretValues, authSecretName, desiredAuthSecret, newAuthSecretValues, usesGeneratedAuthSecret } from '../../../../operator/desired/auth-secret.js';
import { FULL_SPEC } from '../api/spec-fixtures.js';
import { cluster } from './cluster-fixture.js';

/** A deterministic "random" source: each call returns the next byte values. */
function counter(): (size: number) => Uint8Array {
  let next = 0;
  return (size) => Uint8Array.from({ length: size }, () => next++ % 256);
}

const VALUES: AuthSecretValues = { jwtSecret: 'j'.repeat(32), adminToken: 'admin', internalToken: 'internal', redisPassword: 'redis pw' };

describe('newAuthSecretValues', () => {
  it('makes four different base64url values of 32 random bytes each', () => {
    const values = newAuthSecretValues(counter());
    const all = Object.values(values);
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);
    for (const v of all) {
      expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(v, 'base64url')).toHaveLength(32);
    }
  });
});

describe('desiredAuthSecret', () => {
  it('holds the values base64-encoded under the documented keys', () => {
    const secret = desiredAuthSecret(cluster(), VALUES);
    expect(secret.metadata?.name).toBe('chat-auth');
    expect(secret.type).toBe('Opaque');
    const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    expect(decoded).toEqual({ 'jwt-secret': 'j'.repeat(32), 'admin-token': 'admin', 'internal-token': 'internal', 'redis-password': 'redis pw' });
  });

  it.each<[string, Partial<AuthSecretValues>, RegExp]>([
    ['an empty admin token', { adminToken: '' }, /adminToken \(admin-token\) is empty/],
    ['a JWT secret under 32 bytes', { jwtSecret: 'short' }, /jwtSecret \(jwt-secret\) must have at least 32 bytes/],
    ['a missing Redis password', { redisPassword: undefined as unknown as string }, /redisPassword \(redis-password\) is empty/],
  ])('refuses %s', (_name, patch, message) => {
    expect(() => desiredAuthSecret(cluster(), { ...VALUES, ...patch })).toThrow(message);
  });
});

describe('which Secret the pods read', () => {
  it.each([
    ['no secretRef', cluster(), 'chat-auth', true],
    ['auth.secretRef', cluster(FULL_SPEC), 'chat-secrets', false],
  ] as const)('%s', (_name, c, name, generated) => {
    expect(authSecretName(c)).toBe(name);
    expect(usesGeneratedAuthSecret(c)).toBe(generated);
  });
});
