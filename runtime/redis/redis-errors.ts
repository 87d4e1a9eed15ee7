/**
 * What a failed Redis command means. Every error that reaches code through a RedisStore is
 * classified here, once: its low-cardinality kind (the `kind` label of `imgroup_redis_errors_total`),
 * whether it is a failure of Redis at all (rather than a bug of ours), and whether it is transient —
 * the cluster failing over, a slot migrating, a node loading or a command timing out — so that
 * the same request, sent again a little later, can succeed.
 *
 * ioredis reports these in several shapes: `ReplyError`s whose message starts with the Redis error
 * code (`MOVED 3999 10.0.0.1:6379`, `CLUSTERDOWN The cluster is down`, `TRYAGAIN …`, `LOADING …`,
 * `READONLY …`, `MASTERDOWN …`, `BUSY …`), plain `Error`s of its own (`Connection is closed.`,
 * `Command timed out`, `None of startup nodes is available`, `Cluster isn't ready and
 * enableOfflineQueue options is false`), `MaxRetriesPerRequestError`, `ClusterAllFailedError`
 * (`Failed to refresh slots cache.`), Node socket errors (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`),
 * and — when its own redirection budget (`maxRedirections`) runs out — a plain `Error`
 * `Too many Cluster redirections. Last error: <the last of them>`.
 */

import { OVERLOAD_PREFIX } from './command-budget.js';

/** The closed set of `kind` label values of `imgroup_redis_errors_total`. */
export const REDIS_ERROR_KINDS = [
  'timeout',
  'connection',
  'moved',
  'ask',
  'tryagain',
  'clusterdown',
  'loading',
  'readonly',
  'masterdown',
  'busy',
  'noscript',
  'overload',
  'reply',
] as const;
export type RedisErrorKind = (typeof REDIS_ERROR_KINDS)[number];

/**
 * Kinds that pass by themselves: a failover (connection lost, CLUSTERDOWN, MOVED to the promoted
 * replica, READONLY/MASTERDOWN from a node changing role), a migration (ASK, TRYAGAIN), a node
 * starting (LOADING) or busy (BUSY), timeouts, and this process's own pending-command bound
 * (overload: Redis is slow, commands were refused before being sent). NOSCRIPT is handled where scripts are sent;
 * any other error reply (WRONGTYPE, OOM, ERR …) is not retried.
 */
const TRANSIENT_KINDS: ReadonlySet<RedisErrorKind> = new Set(['timeout', 'connection', 'moved', 'ask', 'tryagain', 'clusterdown', 'loading', 'readonly', 'masterdown', 'busy', 'overload']);

/** Error classes of ioredis / redis-errors: whatever their message, Redis did not do it. */
const REDIS_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ReplyError',
  'RedisError',
  'ParserError',
  'AbortError',
  'InterruptError',
  'ClusterAllFailedError',
  'MaxRetriesPerRequestError',
]);

/** How ioredis wraps the last error when it gives up following redirections. */
const TOO_MANY_REDIRECTIONS = 'Too many Cluster redirections. Last error: ';

/** Error codes at the start of a Redis error reply, by kind. */
const REPLY_CODES: ReadonlyArray<readonly [prefix: string, kind: RedisErrorKind]> = [
  ['MOVED ', 'moved'],
  ['ASK ', 'ask'],
  ['TRYAGAIN', 'tryagain'],
  ['CLUSTERDOWN', 'clusterdown'],
  ['LOADING', 'loading'],
  ['READONLY', 'readonly'],
  ['MASTERDOWN', 'masterdown'],
  ['BUSY ', 'busy'],
  ['NOSCRIPT', 'noscript'],
  // Not a Redis reply: this process's own bound on pending commands (command-budget.ts).
  [OVERLOAD_PREFIX, 'overload'],
];

/** ioredis's and Node's ways of saying the connection is not there (or not yet). */
const CONNECTION_MESSAGE =
  /connect|Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|EHOSTUNREACH|ENETUNREACH|socket hang up|not ready|isn't ready|Failed to refresh slots|None of startup nodes|max retries per request|isn't writeable/i;

/** Low-cardinality kind of a Redis error, for the errors metric and for retry decisions. */
export function redisErrorKind(err: unknown): RedisErrorKind {
  const msg = err instanceof Error ? err.message : String(err);
  if (!msg.startsWith(TOO_MANY_REDIRECTIONS)) return kindOfMessage(msg);
  // ioredis only spends its budget on redirections, CLUSTERDOWN, TRYAGAIN and lost connections:
  // the kind is that of the last one (`ReplyError: MOVED …` → moved).
  const last = kindOfMessage(msg.slice(TOO_MANY_REDIRECTIONS.length).replace(/^\w*Error: /, ''));
  return TRANSIENT_KINDS.has(last) ? last : 'moved';
}

function kindOfMessage(msg: string): RedisErrorKind {
  for (const [prefix, kind] of REPLY_CODES) if (msg.startsWith(prefix)) return kind;
  if (/timed? ?out/i.test(msg)) return 'timeout';
  if (CONNECTION_MESSAGE.test(msg)) return 'connection';
  return 'reply';
}

/** Errors a program raises about itself: never a failure of Redis, whatever the message says. */
function isProgrammingError(err: Error): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;
}

/**
 * True when `err` says that Redis did not do the command (it answered with an error, failed, or
 * could not be reached) — as opposed to a bug of ours. Such a request is answered UNAVAILABLE.
 */
export function isRedisError(err: unknown): boolean {
  if (!(err instanceof Error) || isProgrammingError(err)) return false;
  if (REDIS_ERROR_NAMES.has(err.name)) return true;
  return redisErrorKind(err) !== 'reply';
}

/**
 * True when `err` is a Redis failure that passes by itself — a failover, a slot migration, a
 * node loading its data, a timeout — so the same idempotent command, sent again after a short
 * wait (and a slot map refresh), can succeed. The one test for "retry this".
 */
export function isRetryableRedisError(err: unknown): boolean {
  if (!(err instanceof Error) || isProgrammingError(err)) return false;
  return TRANSIENT_KINDS.has(redisErrorKind(err));
}
