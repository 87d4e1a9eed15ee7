/**
 * Reading cursors (`im:{g:G}:cursors`: member userId → highest acknowledged seq). Values come from
 * Redis and are range-checked: anything that is not a non-negative safe integer counts as 0
 * (replay from the start of the retained log rather than skip messages).
 */
import { toCount } from './batch-replies.js';

/** A cursor value from Redis (string, number or nil). */
export function cursorOf(value: unknown): number {
  return toCount(value);
}

/** An HGETALL reply of a cursor hash (ioredis gives an object) → userId → seq. */
export function parseCursorHash(reply: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (typeof reply !== 'object' || reply === null) return out;
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (typeof reply[i] === 'string') out.set(reply[i] as string, cursorOf(reply[i + 1]));
    }
    return out;
  }
  for (const [userId, value] of Object.entries(reply as Record<string, unknown>)) out.set(userId, cursorOf(value));
  return out;
}
