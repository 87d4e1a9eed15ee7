/**
 * Client authentication at the WebSocket handshake: a JWT (HS256) from `Authorization: Bearer`
 * or, for browsers that cannot set headers, the `?token=` query parameter. `sub` is the user id
 * and must be a valid id; `exp` is required. Every failure has one of three reasons, which the
 * gate counts and answers with HTTP 401.
 */
import type { IncomingMessage } from 'node:http';
import { errors, jwtVerify } from 'jose';
import { isValidId } from '../protocol/ids.js';

export type AuthFailureReason = 'missing' | 'invalid' | 'expired';

export type AuthResult =
  | { ok: true; userId: string; /** Token expiry, ms since the epoch. */ expMs: number }
  | { ok: false; reason: AuthFailureReason; message: string };

/** Tokens longer than this are rejected before any cryptography. */
export const MAX_TOKEN_CHARS = 8192;

/** The token of a handshake request: the Authorization header wins over `?token=`. */
export function extractToken(req: Pick<IncomingMessage, 'headers' | 'url'>): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? (m[1] as string) : '';
  }
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q < 0) return null;
  const token = new URLSearchParams(url.slice(q + 1)).get('token');
  return token === null || token.length === 0 ? null : token;
}

export class TokenVerifier {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Verify a token (null = none given). Never throws. */
  async verify(token: string | null): Promise<AuthResult> {
    if (token === null) return { ok: false, reason: 'missing', message: 'no token: send Authorization: Bearer <jwt> or ?token=<jwt>' };
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      return { ok: false, reason: 'invalid', message: 'malformed Authorization header or token' };
    }
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      if (!isValidId(payload.sub)) return { ok: false, reason: 'invalid', message: 'token "sub" is not a valid user id' };
      const exp = payload.exp;
      if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'invalid', message: 'token "exp" must be a number' };
      return { ok: true, userId: payload.sub, expMs: exp * 1000 };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired', message: 'token expired: get a new one' };
      return { ok: false, reason: 'invalid', message: 'token rejected: bad signature, algorithm or claims' };
    }
  }
}
