/**
 * Opens one WebSocket to a gate: fetches the token (afresh for every attempt, so a token function
 * can refresh expired tokens) and puts it where the gate reads it.
 */
import type { TokenSource } from './client-options.js';
import type { WebSocketConstructor, WebSocketLike } from './web-socket-like.js';

/** The token of `source`: the string itself, or what the function returns (awaited, checked). */
export async function resolveToken(source: TokenSource): Promise<string> {
  const token: unknown = typeof source === 'string' ? source : await source();
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('the token function must return a non-empty string');
  return token;
}

/** `url` with `token` appended as the `token` query parameter. */
export function urlWithToken(url: string, token: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/** A new socket to `url`, the token in the query (`query`) or in `Authorization: Bearer` (`header`). */
export function dialGate(
  WebSocket: WebSocketConstructor,
  url: string,
  token: string,
  transport: 'query' | 'header',
): WebSocketLike {
  if (transport === 'header') return new WebSocket(url, undefined, { headers: { authorization: `Bearer ${token}` } });
  return new WebSocket(urlWithToken(url, token));
}
