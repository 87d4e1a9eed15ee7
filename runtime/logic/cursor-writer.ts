/**
 * The cursor writer: applies a user's cumulative acknowledgement to `im:{u:U}:cursors`
 * (groupId → highest acked seq). A cursor only moves forward (max in Lua), and only for groups
 * in the user's `groups` set, so acks for random group ids cannot grow the hash.
 *
 * This is the one place that writes cursors; a coalescing writer (many acks, one write per
 * user and interval) can replace RedisCursorWriter behind the same interface.
 */
import { keys } from '../redis/keys.js';
import { defineScript, type RedisStore } from '../redis/redis-store.js';

export interface CursorWriter {
  /** Record that `userId` has every message of `groupId` up to and including `seq`. */
  ack(userId: string, groupId: string, seq: number): Promise<void>;
  /** Write out anything held back; called once on shutdown. */
  flush(): Promise<void>;
}

const ACK_SOURCE = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or 0
local seq = tonumber(ARGV[2])
if seq > current then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return seq
end
return current
`;

export const CURSOR_ACK_SCRIPT = defineScript('cursor_ack', ACK_SOURCE);

/** Writes every ack at once: one script call (one round trip) per ack. */
export class RedisCursorWriter implements CursorWriter {
  constructor(private readonly store: RedisStore) {}

  async ack(userId: string, groupId: string, seq: number): Promise<void> {
    await this.store.script(CURSOR_ACK_SCRIPT, [keys.userGroups(userId), keys.userCursors(userId)], [groupId, seq]);
  }

  async flush(): Promise<void> {}
}
