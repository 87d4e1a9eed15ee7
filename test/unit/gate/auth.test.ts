import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signToken } from '../../../runtime/auth/token-signer.js';
import { extractToken, TokenVerifier } from '../../../runtime/gate/auth.js';
import { handToken, hostileTokens } from '../../support/hostile-tokens.js';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: Record<string, unknown>, alg = 'HS256', secret = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(secret);
}

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier(SECRET);

  const rejected: Array<[string, () => Promise<string | null>, 'missing' | 'invalid' | 'expired']> = [
    ['no token at all', async () => null, 'missing'],
    ['an empty token', async () => '', 'invalid'],
    ['garbage', async () => 'not-a-jwt', 'invalid'],
    ['a bad signature', async () => sign({ sub: 'alice', exp: now() + 60 }, 'HS256', new TextEncoder().encode('another-secret-another-secret-0000')), 'invalid'],
    ['an expired token', async () => sign({ sub: 'alice', exp: now() - 10 }), 'expired'],
    ['no sub', async () => sign({ exp: now() + 60 }), 'invalid'],
    ['a sub that is not a valid id', async () => sign({ sub: 'alice bob', exp: now() + 60 }), 'invalid'],
    ['a sub of 129 characters', async () => sign({ sub: 'a'.repeat(129), exp: now() + 60 }), 'invalid'],
    ['no exp', async () => sign({ sub: 'alice' }), 'invalid'],
    ['alg none', async () => new UnsecuredJWT({ sub: 'alice', exp: now() + 60 }).encode(), 'invalid'],
    ['alg HS512 with the right secret', async () => sign({ sub: 'alice', exp: now() + 60 }, 'HS512'), 'invalid'],
    ['a token over 8 KiB', async () => 'x'.repeat(9000), 'invalid'],
  ];

  it.each(rejected)('rejects %s', async (_name, make, reason) => {
    const result = await verifier.verify(await make());
    expect(result).toMatchObject({ ok: false, reason });
  });

  // The probe's tokens (issue 12 §4): only HS256 with the gate's own secret is taken, whatever the
  // header says about algorithms or keys, and only a sub that is a valid user id.
  it.each(hostileTokens(SECRET))('rejects %s', async (_name, make, reason) => {
    const result = await verifier.verify(await make());
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('ignores a kid of a token signed HS256 with the right secret (there is one key; kid chooses nothing)', async () => {
    const result = await verifier.verify(handToken({ alg: 'HS256', typ: 'JWT', kid: 'any' }, { sub: 'alice', exp: now() + 60 }, key));
    expect(result).toMatchObject({ ok: true, userId: 'alice' });
  });

  it('accepts a valid token and returns the user id and expiry in ms', async () => {
    const token = await signToken(SECRET, 'user-1@example.com', 60);
    const result = await verifier.verify(token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.userId).toBe('user-1@example.com');
    expect(result.expMs).toBeGreaterThan(Date.now());
    expect(result.expMs).toBeLessThanOrEqual(Date.now() + 61_000);
  });
});

describe('extractToken', () => {
  const table: Array<[string, Record<string, string>, string, string | null]> = [
    ['a Bearer header', { authorization: 'Bearer abc.def.ghi' }, '/v1/ws', 'abc.def.ghi'],
    ['a lowercase bearer header', { authorization: 'bearer abc' }, '/v1/ws', 'abc'],
    ['the query parameter', {}, '/v1/ws?token=q.r.s', 'q.r.s'],
    ['the header over the query', { authorization: 'Bearer h' }, '/v1/ws?token=q', 'h'],
    ['nothing', {}, '/v1/ws', null],
    ['an empty query token', {}, '/v1/ws?token=', null],
    ['a Basic header (malformed, not missing)', { authorization: 'Basic dXNlcjpwYXNz' }, '/v1/ws', ''],
  ];
  it.each(table)('reads %s', (_name, headers, url, expected) => {
    expect(extractToken({ headers, url })).toBe(expected);
  });
});
