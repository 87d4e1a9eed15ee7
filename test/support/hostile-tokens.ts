/**
 * The probe's tokens (issue 12 §4), built as an attacker would, for a given gate secret: alg none,
 * wrong or missing signatures, other HMAC algorithms with the right secret, embedded keys (`jwk`,
 * `jku`, `kid`), `crit`, expired, `nbf` in the future, and odd subjects. Each comes with the reason
 * the gate refuses it with (HTTP 401 at the handshake; `imgroup_gate_auth_failures_total{reason}`).
 * The unit table (test/unit/gate/auth.test.ts) and the handshake of a real gate use the same list.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import type { AuthFailureReason } from '../../runtime/gate/auth.js';

export type HostileToken = [name: string, make: () => Promise<string>, reason: AuthFailureReason];

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token built by hand: any header, any claims (or any JSON), an HMAC-SHA256 over them with `key`. */
export function handToken(header: Record<string, unknown>, claims: unknown, key: Uint8Array): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** An RSA key pair of the attacker's (made once), its public half to embed in headers. */
let attacker: { publicKey: KeyObject; privateKey: KeyObject } | null = null;

async function signedWithEmbeddedKey(header: Record<string, unknown>, sub: string): Promise<string> {
  attacker ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(attacker.publicKey);
  return new SignJWT({ sub, exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', jwk, ...header }).sign(attacker.privateKey);
}

/** Every hostile token for a gate verifying with `secret`, claiming to be `sub`. */
export function hostileTokens(secret: string, sub = 'alice'): HostileToken[] {
  const key = new TextEncoder().encode(secret);
  const attackerKey = new TextEncoder().encode('attacker-secret-attacker-secret-0000');
  const sign = (claims: Record<string, unknown>, alg = 'HS256') => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
  const live = () => ({ sub, exp: now() + 60 });
  return [
    ['alg none (jose)', async () => new UnsecuredJWT(live()).encode(), 'invalid'],
    ['alg none built by hand, without a signature', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(live())}.`, 'invalid'],
    ['alg "None" with the HS256 signature', async () => handToken({ alg: 'None' }, live(), key), 'invalid'],
    ['a wrong signature (another secret)', async () => handToken({ alg: 'HS256' }, live(), attackerKey), 'invalid'],
    ['a signature with one character changed', async () => {
      const t = await sign(live());
      return `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.slice(-1)}`;
    }, 'invalid'],
    ['the right header and claims with the signature cut off', async () => (await sign(live())).replace(/[^.]+$/, ''), 'invalid'],
    ['alg HS384 with the right secret', async () => sign(live(), 'HS384'), 'invalid'],
    ['alg HS512 with the right secret', async () => sign(live(), 'HS512'), 'invalid'],
    ['an attacker RS256 token with its public key embedded as jwk', async () => signedWithEmbeddedKey({}, sub), 'invalid'],
    ['an attacker RS256 token pointing jku at its key set', async () => signedWithEmbeddedKey({ jku: 'http://127.0.0.1:1/jwks.json', kid: 'k1' }, sub), 'invalid'],
    ['an attacker HS256 token with an embedded symmetric jwk', async () => handToken({ alg: 'HS256', jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } }, live(), attackerKey), 'invalid'],
    ['an attacker HS256 token with a kid naming a file, signed with an empty key', async () => handToken({ alg: 'HS256', kid: '../../../dev/null' }, live(), new Uint8Array(0)), 'invalid'],
    ['a crit header the gate does not understand', async () => handToken({ alg: 'HS256', crit: ['x-imgroup'], 'x-imgroup': 1 }, live(), key), 'invalid'],
    ['an expired token', async () => sign({ sub, exp: now() - 10 }), 'expired'],
    ['nbf in the future', async () => sign({ sub, exp: now() + 3600, nbf: now() + 600 }), 'invalid'],
    ['exp as a string', async () => handToken({ alg: 'HS256' }, { sub, exp: String(now() + 60) }, key), 'invalid'],
    ['no exp', async () => sign({ sub }), 'invalid'],
    ['no sub', async () => sign({ exp: now() + 60 }), 'invalid'],
    ['an empty sub', async () => sign({ sub: '', exp: now() + 60 }), 'invalid'],
    ['a sub of 129 characters', async () => sign({ sub: 'a'.repeat(129), exp: now() + 60 }), 'invalid'],
    ['a sub with a space', async () => sign({ sub: `${sub} bob`, exp: now() + 60 }), 'invalid'],
    ['a sub with a NUL', async () => sign({ sub: `${sub}\u0000`, exp: now() + 60 }), 'invalid'],
    ['a sub with a newline', async () => sign({ sub: `${sub}\nadmin`, exp: now() + 60 }), 'invalid'],
    ['a sub with a slash (path traversal)', async () => sign({ sub: `../${sub}`, exp: now() + 60 }), 'invalid'],
    ['a sub that is a dot segment', async () => sign({ sub: '..', exp: now() + 60 }), 'invalid'],
    ['a numeric sub', async () => handToken({ alg: 'HS256' }, { sub: 42, exp: now() + 60 }, key), 'invalid'],
    ['a null sub', async () => handToken({ alg: 'HS256' }, { sub: null, exp: now() + 60 }, key), 'invalid'],
    ['an object sub', async () => handToken({ alg: 'HS256' }, { sub: { id: sub }, exp: now() + 60 }, key), 'invalid'],
    ['an array sub', async () => handToken({ alg: 'HS256' }, { sub: [sub], exp: now() + 60 }, key), 'invalid'],
    ['claims that are not a JSON object', async () => handToken({ alg: 'HS256' }, [sub], key), 'invalid'],
    ['a header that is not JSON', async () => {
      const input = `${Buffer.from('{alg:HS256').toString('base64url')}.${b64(live())}`;
      return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    }, 'invalid'],
    ['four segments', async () => `${await sign(live())}.x`, 'invalid'],
    ['a token over 8 KiB', async () => `${await sign(live())}${'x'.repeat(9000)}`, 'invalid'],
  ];
}
