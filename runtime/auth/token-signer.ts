/**
 * Client tokens: JWT HS256 with `sub` = user id and `exp`, signed with IMGROUP_JWT_SECRET.
 * The gate verifies them (runtime/gate/auth.ts); application backends, `imgroup token`, `imgroup
 * dev`, the tests and the benchmark sign them with this.
 */
import { SignJWT } from 'jose';
import { ID_RULE, isValidId } from '../protocol/ids.js';

export const MAX_TOKEN_TTL_SECONDS = 366 * 24 * 3600;

export async function signToken(secret: string, userId: string, ttlSeconds: number): Promise<string> {
  if (!isValidId(userId)) throw new Error(`user id ${JSON.stringify(userId)} is not valid: ${ID_RULE}`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new Error(`token ttl must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`);
  }
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
