/**
 * How a failed request is answered. A ProtocolError carries its own code; a failure of Redis
 * (timeout, lost connection, cluster down, an error reply) is UNAVAILABLE, which the gate may
 * retry (sends are idempotent); anything else is a bug here: INTERNAL.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { redisErrorKind } from '../redis/redis-metrics.js';

/** Error classes of ioredis / redis-errors that mean "Redis did not do it". */
const REDIS_ERROR_NAMES = new Set(['ReplyError', 'RedisError', 'ParserError', 'AbortError', 'InterruptError', 'ClusterAllFailedError', 'MaxRetriesPerRequestError']);

/** Thrown when a request ran past its deadline. */
export class RequestTimeoutError extends Error {
  constructor(ms: number) {
    super(`request not finished within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

export interface Failure {
  code: ErrorCode;
  message: string;
}

export function failureOf(err: unknown): Failure {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  if (err instanceof RequestTimeoutError) return { code: ErrorCode.UNAVAILABLE, message: `${err.message}; retry later` };
  if (isRedisFailure(err)) return { code: ErrorCode.UNAVAILABLE, message: 'storage is unavailable right now; retry later' };
  return { code: ErrorCode.INTERNAL, message: 'internal error in the logic node' };
}

export function isRedisFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  if (REDIS_ERROR_NAMES.has(err.name)) return true;
  return redisErrorKind(err) !== 'reply';
}
