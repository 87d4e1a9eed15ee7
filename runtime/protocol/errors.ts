/**
 * Error and close codes of protocol v1. Defined once here; every other module imports them.
 *
 * Error codes appear in client `error` frames, in admin API error bodies and in internal
 * gate↔logic responses. They are stable: clients switch on them.
 */

export const ErrorCode = {
  /** Not JSON, not an object, a missing field or a field of the wrong type. Fix the frame. */
  BAD_FRAME: 'BAD_FRAME',
  /** The frame or the message body is larger than the gate accepts. Send less. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** `type` is not one of the client frame types of protocol v1. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** The user is not a member of the group. */
  NOT_MEMBER: 'NOT_MEMBER',
  /** Too many frames per second on this connection (or requests on the admin API). Slow down. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** No logic node or Redis is reachable right now. Retryable: send again with the same id. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A bug or an unexpected failure on the server side. */
  INTERNAL: 'INTERNAL',
  /** Admin API: missing or wrong admin token; internal links: wrong internal token. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Admin API: no such route. */
  NOT_FOUND: 'NOT_FOUND',
  /** Admin API: the route exists but not with this HTTP method; the `Allow` header lists those it takes. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A group would exceed the configured maximum number of members. */
  GROUP_FULL: 'GROUP_FULL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ERROR_CODES.has(value);
}

/** Retryable codes: the same request (same client id) may be sent again later. */
export function isRetryable(code: ErrorCode): boolean {
  return code === ErrorCode.UNAVAILABLE || code === ErrorCode.RATE_LIMITED;
}

/** HTTP status of each error code on the admin API. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_FRAME: 400,
  FRAME_TOO_LARGE: 413,
  UNKNOWN_TYPE: 400,
  NOT_MEMBER: 403,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  GROUP_FULL: 409,
};

/** An error that carries a protocol error code across module boundaries. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * WebSocket close codes used by the gate.
 *
 * - 1000–1015 are the standard ones: 1001 means "this gate is going away, reconnect (to any
 *   gate)"; 1007 and 1009 are sent by the WebSocket layer itself for a frame it cannot accept.
 * - 4000–4499: the client should reconnect (with backoff). 4100–4199 of it belong to the internal
 *   gate ↔ logic link (InternalCloseCode in internal-frames.ts) and are never sent to clients.
 * - 4500–4999: the client must not reconnect with the same credentials; fix the cause first.
 */
export const CloseCode = {
  /** Normal closure requested by the client or the server. */
  NORMAL: 1000,
  /** The gate is shutting down (SIGTERM) or restarting: reconnect, with jittered backoff. */
  GOING_AWAY: 1001,
  /**
   * Never sent on the wire (WebSocket reserves it): what a client reports when its connection
   * ended without a close frame — refused, timed out, dropped. Reconnect.
   */
  ABNORMAL: 1006,
  /**
   * A frame that breaks RFC 6455 (unmasked, reserved bits set, an unknown opcode, a continuation
   * without a start, a fragmented or oversized control frame, an invalid close code); the ws
   * library closes with this. A client bug: use a conforming WebSocket client.
   */
  PROTOCOL_ERROR: 1002,
  /** A text frame was not valid UTF-8; the ws library closes with this. A client bug: fix the encoding. */
  INVALID_PAYLOAD: 1007,
  /** A WebSocket frame exceeded the hard frame limit; the ws library closes with this. */
  MESSAGE_TOO_BIG: 1009,
  /** The client did not answer heartbeats in time. Reconnect. */
  HEARTBEAT_TIMEOUT: 4000,
  /** The client could not keep up: its outgoing buffer exceeded the gate's limit. Reconnect and sync. */
  SLOW_CONSUMER: 4001,
  /** The gate could not serve the connection (e.g. presence could not be written). Reconnect. */
  SERVER_ERROR: 4002,
  /** The client kept sending invalid frames. Terminal: fix the client. */
  TOO_MANY_BAD_FRAMES: 4500,
  /** The token expired while connected. Terminal for this token: get a new one, then reconnect. */
  TOKEN_EXPIRED: 4501,
  /**
   * The user already holds the gate's maximum of connections (IMGROUP_MAX_CONNECTIONS_PER_USER).
   * Terminal: reconnecting would be refused again; close another device of the user first.
   */
  TOO_MANY_CONNECTIONS: 4502,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client should reconnect after the gate closed it with `code`. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  return true;
}
