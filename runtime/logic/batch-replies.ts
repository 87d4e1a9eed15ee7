/**
 * Reading replies that come back from Redis. They are untrusted input: every value is
 * type-checked and range-checked before use, and a failed command in a batch surfaces as the
 * error it carried.
 */
import type { BatchReply } from '../redis/redis-store.js';

/** The value of one batch reply; throws the command's own error. */
export function valueOf(reply: BatchReply | undefined): unknown {
  if (!reply) throw new Error('batch returned no reply');
  if (reply[0]) throw reply[0];
  return reply[1];
}

/** Throw the first error of a batch, if any. */
export function throwFirst(replies: readonly BatchReply[]): void {
  const failed = replies.find((r) => r[0]);
  if (failed?.[0]) throw failed[0];
}

/** A non-negative count or seq from a reply (a missing key or a malformed value → 0). */
export function toCount(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The string elements of an array reply (anything else is dropped). */
export function stringsOf(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.filter((x): x is string => typeof x === 'string') : [];
}
