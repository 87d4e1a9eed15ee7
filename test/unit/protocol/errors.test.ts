import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, HTTP_STATUS, shouldReconnect } from '../../../runtime/protocol/errors.js';

describe('close codes', () => {
  // What each code tells a client: reconnect (with backoff) or stop until the cause is fixed.
  const expected: Record<keyof typeof CloseCode, boolean> = {
    NORMAL: true,
    GOING_AWAY: true,
    PROTOCOL_ERROR: true,
    INVALID_PAYLOAD: true,
    MESSAGE_TOO_BIG: true,
    HEARTBEAT_TIMEOUT: true,
    SLOW_CONSUMER: true,
    SERVER_ERROR: true,
    TOO_MANY_BAD_FRAMES: false,
    TOKEN_EXPIRED: false,
    TOO_MANY_CONNECTIONS: false,
    ABNORMAL: true,
  };

  it.each(Object.entries(CloseCode))('%s (%i) has its documented reconnect verdict', (name, code) => {
    expect(shouldReconnect(code)).toBe(expected[name as keyof typeof CloseCode]);
  });

  it('keeps imgroup codes in their ranges: 4000–4499 reconnect, 4500–4999 terminal', () => {
    for (const code of Object.values(CloseCode).filter((c) => c >= 4000)) {
      expect(code).toBeLessThanOrEqual(4999);
      expect(shouldReconnect(code)).toBe(code < 4500);
    }
    expect(new Set(Object.values(CloseCode)).size).toBe(Object.values(CloseCode).length);
  });
});

describe('error codes', () => {
  it.each(Object.values(ErrorCode))('%s has an HTTP status of its own kind', (code) => {
    expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
  });

  it('answers a wrong method with 405 METHOD_NOT_ALLOWED and a missing route with 404 NOT_FOUND', () => {
    expect(HTTP_STATUS.METHOD_NOT_ALLOWED).toBe(405);
    expect(HTTP_STATUS.NOT_FOUND).toBe(404);
  });
});
