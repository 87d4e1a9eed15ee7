/**
 * Cursors live on the group side: `im:{g:G}:cursors` (member userId → highest acknowledged seq),
 * in the slot of the group's members and seq. So one script applies any number of a group's acks
 * atomically with the rules: only members (SMISMEMBER), only forward (max with the stored value),
 * never past the group's head (acks of seqs that do not exist yet are cut to the head).
 *
 * CursorWriter is the one place that writes cursors. Two implementations: RedisCursorWriter
 * writes each ack at once (one script call per ack; IMGROUP_CURSOR_FLUSH_MS=0) and
 * CoalescingCursorWriter (coalescing-cursor-writer.ts) keeps the latest ack per member in memory
 * and writes them in one script call per group per interval.
 */
import { keys } from '../redis/keys.js';
import { defineScript, type RedisStore, type ScriptCall } from '../redis/redis-store.js';

export interface CursorWriter {
  /** Record that `userId` has every message of `groupId` up to and including `seq`. */
  ack(userId: string, groupId: string, seq: number): Promise<void>;
  /** The highest seq acked here but not written to Redis yet (0 when none). */
  pendingSeq(groupId: string, userId: string): number;
  /** Forget held-back acks of users removed from a group. */
  forget(groupId: string, userIds: readonly string[]): void;
  /** Write out anything held back (shutdown); resolves when done. */
  flush(): Promise<void>;
  /** Stop the flush timer (after a final flush). */
  stop(): void;
}

/** Users per script call; a group with more pending acks gets several calls. */
export const CURSOR_USERS_PER_CALL = 1000;

// ARGV: user1, seq1, user2, seq2, … Returns the number of cursors moved.
const CURSOR_WRITE_SOURCE = `
local head = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
local pairsCount = math.floor(#ARGV / 2)
local written = 0
local first = 1
while first <= pairsCount do
  local last = math.min(first + 499, pairsCount)
  local users = {}
  for p = first, last do users[#users + 1] = ARGV[2 * p - 1] end
  local member = redis.call('SMISMEMBER', KEYS[1], unpack(users))
  local current = redis.call('HMGET', KEYS[2], unpack(users))
  for k = 1, #users do
    local seq = tonumber(ARGV[2 * (first + k - 1)])
    if seq and seq > head then seq = head end
    local cur = tonumber(current[k] or '0') or 0
    if member[k] == 1 and seq and seq > cur then
      redis.call('HSET', KEYS[2], users[k], string.format('%d', seq))
      written = written + 1
    end
  end
  first = last + 1
end
return written
`;

export const CURSOR_WRITE_SCRIPT = defineScript('cursor_write', CURSOR_WRITE_SOURCE);

/** The script calls writing `cursors` (userId → seq) of one group. */
export function cursorWriteCalls(groupId: string, cursors: ReadonlyMap<string, number>): ScriptCall[] {
  const calls: ScriptCall[] = [];
  const keyList = [keys.groupMembers(groupId), keys.groupCursors(groupId), keys.groupSeq(groupId)];
  let args: Array<string | number> = [];
  for (const [userId, seq] of cursors) {
    args.push(userId, seq);
    if (args.length >= CURSOR_USERS_PER_CALL * 2) {
      calls.push({ script: CURSOR_WRITE_SCRIPT, keys: keyList, args });
      args = [];
    }
  }
  if (args.length > 0) calls.push({ script: CURSOR_WRITE_SCRIPT, keys: keyList, args });
  return calls;
}

/** Writes every ack at once: one script call (one round trip) per ack. */
export class RedisCursorWriter implements CursorWriter {
  constructor(private readonly store: RedisStore) {}

  async ack(userId: string, groupId: string, seq: number): Promise<void> {
    const [call] = cursorWriteCalls(groupId, new Map([[userId, seq]]));
    if (call) await this.store.script(call.script, call.keys, call.args);
  }

  pendingSeq(): number {
    return 0;
  }

  forget(): void {}

  async flush(): Promise<void> {}

  stop(): void {}
}
