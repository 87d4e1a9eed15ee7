/**
 * Options of the imgroup client: each one documented once here, with its default and unit, and
 * checked by `resolveClientOptions` when the client is built (a bad value throws a `RangeError`
 * or `TypeError` that names the option).
 */
import type { WebSocketConstructor } from './web-socket-like.js';

/** A token, or a function called on every (re)connect that returns a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

export interface ClientOptions {
  /** The gate's WebSocket URL, e.g. `ws://127.0.0.1:8080/v1/ws`. */
  url: string;
  /** The user's JWT, or a function returning one; called before every connection attempt. */
  token: TokenSource;
  /** The WebSocket implementation: `WebSocket` from the `ws` package in Node, `globalThis.WebSocket` in browsers. */
  WebSocket: WebSocketConstructor;
  /**
   * How the token travels. `query` (default) appends `?token=…` and works everywhere; `header`
   * sends `Authorization: Bearer …`, which only implementations with a headers option (ws) support.
   */
  tokenTransport?: 'query' | 'header';
  /** Shortest reconnect / retry delay and base of the exponential window, ms. Default 500. */
  reconnectMinMs?: number;
  /** Longest reconnect / retry delay, ms. Default 30000. */
  reconnectMaxMs?: number;
  /** How long to wait for the socket to open and the gate's `welcome`, ms. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * App-level ping interval, ms. Default: the `heartbeatMs` the gate announces in `welcome` (the gate
   * drops connections silent for twice that). A ping unanswered for one interval drops the socket.
   */
  pingIntervalMs?: number;
  /** Acks are coalesced per group for this long (one ack carries the highest contiguous seq), ms. Default 100. */
  ackDelayMs?: number;
  /** Wait this long for `sent` (or `sync.result`) before writing the request again with the same id, ms. Default 10000. */
  sendTimeoutMs?: number;
  /** A `send()` that is not confirmed within this time rejects with `TIMEOUT`, ms. Default 60000. */
  sendDeadlineMs?: number;
  /** A `sync()` (or gap fill page) that is not answered within this time fails with `TIMEOUT`, ms. Default 30000. */
  syncDeadlineMs?: number;
  /** Most unconfirmed `send()` calls at once; more reject with `TOO_MANY_PENDING`. Default 1000. */
  maxPendingSends?: number;
  /** Most unanswered app `sync()` calls at once; more reject with `TOO_MANY_PENDING`. Default 64. */
  maxPendingSyncs?: number;
  /** Most messages held back per group while a gap is filled. Default 1000. */
  maxHeldPerGroup?: number;
  /** Page size of gap-fill syncs; keep it within the gate's sync limit. Default 100. */
  syncPageLimit?: number;
}

export interface ResolvedClientOptions {
  url: string;
  token: TokenSource;
  WebSocket: WebSocketConstructor;
  tokenTransport: 'query' | 'header';
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  /** null: derive from `welcome.heartbeatMs`. */
  pingIntervalMs: number | null;
  ackDelayMs: number;
  sendTimeoutMs: number;
  sendDeadlineMs: number;
  syncDeadlineMs: number;
  maxPendingSends: number;
  maxPendingSyncs: number;
  maxHeldPerGroup: number;
  syncPageLimit: number;
}

/** Longest delay setTimeout honours (about 24.8 days); every duration stays within it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type NumericOption = Exclude<
  { [K in keyof ResolvedClientOptions]: ResolvedClientOptions[K] extends number ? K : never }[keyof ResolvedClientOptions],
  undefined
>;

const NUMERIC: ReadonlyArray<{ name: NumericOption; fallback: number; min: number; max: number }> = [
  { name: 'reconnectMinMs', fallback: 500, min: 1, max: MAX_TIMER_MS },
  { name: 'reconnectMaxMs', fallback: 30_000, min: 1, max: MAX_TIMER_MS },
  { name: 'connectTimeoutMs', fallback: 10_000, min: 1, max: MAX_TIMER_MS },
  { name: 'ackDelayMs', fallback: 100, min: 0, max: 60_000 },
  { name: 'sendTimeoutMs', fallback: 10_000, min: 1, max: MAX_TIMER_MS },
  { name: 'sendDeadlineMs', fallback: 60_000, min: 1, max: MAX_TIMER_MS },
  { name: 'syncDeadlineMs', fallback: 30_000, min: 1, max: MAX_TIMER_MS },
  { name: 'maxPendingSends', fallback: 1000, min: 1, max: 1_000_000 },
  { name: 'maxPendingSyncs', fallback: 64, min: 1, max: 100_000 },
  { name: 'maxHeldPerGroup', fallback: 1000, min: 0, max: 1_000_000 },
  { name: 'syncPageLimit', fallback: 100, min: 1, max: 100_000 },
];

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`client option ${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

/** Fill in defaults and check every option. Throws naming the first bad option. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('client options must be an object');
  if (typeof options.url !== 'string' || !/^wss?:\/\/./i.test(options.url)) {
    throw new TypeError(`client option url must be a ws:// or wss:// URL; got ${String(options.url)}`);
  }
  const token: unknown = options.token;
  if (!((typeof token === 'string' && token.length > 0) || typeof token === 'function')) {
    throw new TypeError('client option token must be a non-empty string or a function returning one');
  }
  if (typeof options.WebSocket !== 'function') {
    throw new TypeError("client option WebSocket must be a WebSocket constructor (the 'ws' package in Node 20, globalThis.WebSocket in browsers)");
  }
  const transport = options.tokenTransport ?? 'query';
  if (transport !== 'query' && transport !== 'header') {
    throw new RangeError(`client option tokenTransport must be 'query' or 'header'; got ${String(transport)}`);
  }
  const resolved = {
    url: options.url,
    token: options.token,
    WebSocket: options.WebSocket,
    tokenTransport: transport,
    pingIntervalMs: options.pingIntervalMs === undefined ? null : integerIn('pingIntervalMs', options.pingIntervalMs, 1, MAX_TIMER_MS),
  } as ResolvedClientOptions;
  for (const { name, fallback, min, max } of NUMERIC) {
    resolved[name] = options[name] === undefined ? fallback : integerIn(name, options[name], min, max);
  }
  if (resolved.reconnectMinMs > resolved.reconnectMaxMs) {
    throw new RangeError(
      `client option reconnectMinMs (${resolved.reconnectMinMs}) must not exceed reconnectMaxMs (${resolved.reconnectMaxMs})`,
    );
  }
  return resolved;
}
