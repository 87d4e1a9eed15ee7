/**
 * How a failed request is answered. A ProtocolError carries its own code; a failure of Redis
 * (a failover, a migration, a timeout, a lost connection, an error reply — classified in
 * runtime/redis/redis-errors.ts) or too few replica acknowledgements (ReplicaAckShortfall) is UNAVAILABLE, which the gate and the client retry with the same
 * id (sends are idempotent); anything else is a bug here: INTERNAL.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { isRedisError, isRetryableRedisError } from '../redis/redis-errors.js';
import { ReplicaAckShortfall } from './message-log.js';

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
  if (err instanceof ReplicaAckShortfall) return { code: ErrorCode.UNAVAILABLE, message: err.message };
  if (err instanceof RequestTimeoutError) return { code: ErrorCode.UNAVAILABLE, message: `${err.message}; retry with the same id` };
  if (isRetryableRedisError(err)) return { code: ErrorCode.UNAVAILABLE, message: 'storage is failing over or busy (Redis failover, slot migration or timeout); retry with the same id' };
  if (isRedisError(err)) return { code: ErrorCode.UNAVAILABLE, message: 'storage is unavailable right now; retry with the same id' };
  return { code: ErrorCode.INTERNAL, message: 'internal error in the logic node' };
}
