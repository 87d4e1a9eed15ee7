import { describe, expect, it } from 'vitest';
import calculateSlot from 'cluster-key-slot';
import { keys } from '../../../runtime/redis/keys.js';

describe('Redis key layout', () => {
  it('keeps idempotency keys apart when ids contain the separator', () => {
    // user "a:b" with client id "c" and user "a" with client id "b:c" are different messages
    expect(keys.groupIdempotency('g', 'a:b', 'c')).not.toBe(keys.groupIdempotency('g', 'a', 'b:c'));
    // an admin post's idempotency user never equals a real user's
    expect(keys.groupIdempotency('g', 'post|system', 'x')).not.toBe(keys.groupIdempotency('g', 'post', 'system|x'));
  });

  it('puts every key of a group in one slot, and every key of a user in one slot', () => {
    const g = 'team:42';
    const groupSlot = calculateSlot(keys.groupLog(g));
    for (const k of [keys.groupSeq(g), keys.groupMembers(g), keys.groupCursors(g), keys.groupIdempotency(g, 'u1', 'c1')]) {
      expect(calculateSlot(k)).toBe(groupSlot);
    }
    const u = 'alice@example';
    expect(calculateSlot(keys.userGroups(u))).toBe(calculateSlot(keys.userPresence(u)));
  });
});
