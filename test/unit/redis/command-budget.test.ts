import { describe, expect, it } from 'vitest';
import { COMMAND_OVERHEAD_BYTES, CommandBudget, RedisOverloadError } from '../../../runtime/redis/command-budget.js';
import { isRetryableRedisError, redisErrorKind } from '../../../runtime/redis/redis-errors.js';

describe('CommandBudget', () => {
  it('admits within both bounds and refuses beyond either, until room is released', () => {
    const budget = new CommandBudget({ maxCommands: 3, maxBytes: 10 * COMMAND_OVERHEAD_BYTES });
    const a = budget.admit(2, [['k1', 'v'], ['k2', 'v']]);
    expect(budget.pendingCommands).toBe(2);
    expect(() => budget.admit(2, [['k'], ['k']])).toThrow(RedisOverloadError);
    expect(() => budget.admit(1, [[Buffer.alloc(9 * COMMAND_OVERHEAD_BYTES)]])).toThrow(/IMGROUP_REDIS_MAX_PENDING_BYTES/);
    const b = budget.admit(1, [['k']]);
    budget.release(a);
    budget.release(b);
    expect([budget.pendingCommands, budget.pendingBytes]).toEqual([0, 0]);
    expect(() => budget.admit(3, [['k'], ['k'], ['k']])).not.toThrow();
  });

  it('refuses with an error classified as a transient `overload` (a request is answered UNAVAILABLE)', () => {
    const err = new RedisOverloadError({ maxCommands: 1, maxBytes: 1 }, { commands: 1, bytes: 1 });
    expect(redisErrorKind(err)).toBe('overload');
    expect(isRetryableRedisError(err)).toBe(true);
  });
});
