import { describe, expect, it } from 'vitest';
import { matchesSecret, secretDigest } from '../../../runtime/auth/secret-compare.js';

describe('matchesSecret', () => {
  const expected = secretDigest('s3cret-token');

  it('accepts exactly the secret', () => {
    expect(matchesSecret('s3cret-token', expected)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a prefix', 's3cret'],
    ['longer', 's3cret-token-and-more'],
    ['another case', 'S3CRET-TOKEN'],
    ['much longer than a digest', 'x'.repeat(1000)],
  ])('refuses %s without throwing on a length mismatch', (_what, presented) => {
    expect(matchesSecret(presented, expected)).toBe(false);
  });
});
