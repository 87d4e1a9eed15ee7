/**
 * Comparing a presented token with a shared secret (the gate's admin token, the internal token
 * between gates and logic nodes) in constant time: both sides are reduced to their SHA-256
 * digest first, so `timingSafeEqual` always compares equal-length buffers and neither the
 * content nor the length of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret (UTF-8): what a server keeps to check presented tokens against. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Whether `presented` is the secret whose digest is `expected` (constant time). */
export function matchesSecret(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(secretDigest(presented), expected);
}
