import { createHmac, generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signToken } from '../../../runtime/auth/token-signer.js';
import { extractToken, TokenVerifier } from '../../../runtime/gate/auth.js';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: Record<string, unknown>, alg = 'HS256', secret = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(secret);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token built by hand, as an attacker would: any header, any claims, an HMAC-SHA256 with `secret`. */
function handToken(header: Record<string, unknown>, claims: Record<string, unknown>, secret: Uint8Array = key): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const attackerKey = new TextEncoder().encode('attacker-secret-attacker-secret-0000');
/** An RSA key pair of the attacker's, its public half to embed in the header. */
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
async function signedWithEmbeddedKey(header: Record<string, unknown>): Promise<string> {
  const jwk = await exportJWK(attacker.publicKey);
  return new SignJWT({ sub: 'alice', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', jwk, ...header }).sign(attacker.privateKey);
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
    // The probe's tokens (issue 12 §4): only HS256 with the gate's own secret is taken, whatever
    // the header says about algorithms or keys.
    ['alg none built by hand, without a signature', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: now() + 60 })}.`, 'invalid'],
    ['alg "None" with the HS256 signature', async () => handToken({ alg: 'None' }, { sub: 'alice', exp: now() + 60 }), 'invalid'],
    ['alg HS384 with the right secret', async () => sign({ sub: 'alice', exp: now() + 60 }, 'HS384'), 'invalid'],
    ['a signature with one character changed', async () => {
      const t = await sign({ sub: 'alice', exp: now() + 60 });
      return `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.slice(-1)}`;
    }, 'invalid'],
    ['the right header and claims with the signature cut off', async () => (await sign({ sub: 'alice', exp: now() + 60 })).replace(/[^.]+$/, ''), 'invalid'],
    ['an attacker RS256 token with its public key embedded as jwk', async () => signedWithEmbeddedKey({}), 'invalid'],
    ['an attacker RS256 token pointing jku at its key set', async () => signedWithEmbeddedKey({ jku: 'http://127.0.0.1:1/jwks.json', kid: 'k1' }), 'invalid'],
    ['an attacker HS256 token with an embedded symmetric jwk', async () => handToken({ alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } }, { sub: 'alice', exp: now() + 60 }, attackerKey), 'invalid'],
    ['an attacker HS256 token with a kid naming a file', async () => handToken({ alg: 'HS256', kid: '../../../dev/null' }, { sub: 'alice', exp: now() + 60 }, new Uint8Array(0)), 'invalid'],
    ['a crit header the gate does not understand', async () => handToken({ alg: 'HS256', crit: ['x-imgroup'], 'x-imgroup': 1 }, { sub: 'alice', exp: now() + 60 }), 'invalid'],
    ['nbf in the future', async () => sign({ sub: 'alice', exp: now() + 3600, nbf: now() + 600 }), 'invalid'],
    ['exp as a string', async () => handToken({ alg: 'HS256' }, { sub: 'alice', exp: String(now() + 60) }), 'invalid'],
    ['exp far in the past and nbf', async () => sign({ sub: 'alice', exp: 1, nbf: 0 }), 'expired'],
    ['an empty sub', async () => sign({ sub: '', exp: now() + 60 }), 'invalid'],
    ['a sub with a NUL', async () => sign({ sub: 'ali\u0000ce', exp: now() + 60 }), 'invalid'],
    ['a sub with a newline', async () => sign({ sub: 'alice\nadmin', exp: now() + 60 }), 'invalid'],
    ['a sub with a slash (path traversal)', async () => sign({ sub: '../alice', exp: now() + 60 }), 'invalid'],
    ['a sub that is a dot segment', async () => sign({ sub: '..', exp: now() + 60 }), 'invalid'],
    ['a numeric sub', async () => handToken({ alg: 'HS256' }, { sub: 42, exp: now() + 60 }), 'invalid'],
    ['a null sub', async () => handToken({ alg: 'HS256' }, { sub: null, exp: now() + 60 }), 'invalid'],
    ['an object sub', async () => handToken({ alg: 'HS256' }, { sub: { id: 'alice' }, exp: now() + 60 }), 'invalid'],
    ['an array sub', async () => handToken({ alg: 'HS256' }, { sub: ['alice'], exp: now() + 60 }), 'invalid'],
    ['claims that are not a JSON object', async () => handToken({ alg: 'HS256' }, ['alice'] as unknown as Record<string, unknown>), 'invalid'],
    ['a header that is not JSON', async () => {
      const input = `${Buffer.from('{alg:HS256').toString('base64url')}.${b64({ sub: 'alice', exp: now() + 60 })}`;
      return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    }, 'invalid'],
    ['four segments', async () => `${await sign({ sub: 'alice', exp: now() + 60 })}.x`, 'invalid'],
  ];

  it.each(rejected)('rejects %s', async (_name, make, reason) => {
    const result = await verifier.verify(await make());
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('ignores a kid of a token signed HS256 with the right secret (there is one key; kid chooses nothing)', async () => {
    const result = await verifier.verify(handToken({ alg: 'HS256', typ: 'JWT', kid: 'any' }, { sub: 'alice', exp: now() + 60 }));
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
