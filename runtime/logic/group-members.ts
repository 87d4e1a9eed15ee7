/**
 * Group membership, kept twice: `im:{g:G}:members` (who may send and receive) and, per user,
 * `im:{u:U}:groups` (which logs to replay at login). The two live in different slots, so they
 * cannot change atomically; the writes are ordered so that a crash in between leaves at worst an
 * extra entry in a user's `groups` set, which readers ignore (login replay re-checks membership
 * against the group's own set):
 *
 *   add:    user side first (groups += G), then the group side;
 *   remove: the group side first, then the user side (groups -= G).
 *
 * The group side is one script, atomic, in the group's slot: it enforces the member limit,
 * changes the member set, gives each newcomer the cursor `head` in `im:{g:G}:cursors` (history
 * from before joining is not unread) and deletes the cursors of removed members.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { keys } from '../redis/keys.js';
import { type BatchCommand, defineScript, type RedisStore } from '../redis/redis-store.js';
import { stringsOf, throwFirst, toCount, valueOf } from './batch-replies.js';

/** Users per pipelined batch of user-side writes. */
const USER_WRITES_PER_BATCH = 1000;

// KEYS: members, cursors, seq. ARGV: max, nAdd, added users…, removed users…
const UPDATE_SOURCE = `
local members = KEYS[1]
local cursors = KEYS[2]
local max = tonumber(ARGV[1])
local nAdd = tonumber(ARGV[2])
local total = #ARGV
local function chunks(first, last, fn)
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    fn(i, j)
    i = j + 1
  end
end
local card = redis.call('SCARD', members)
local newcomers = {}
chunks(3, 2 + nAdd, function(i, j)
  local r = redis.call('SMISMEMBER', members, unpack(ARGV, i, j))
  for k, v in ipairs(r) do if v == 0 then newcomers[#newcomers + 1] = ARGV[i + k - 1] end end
end)
local leaving = 0
chunks(3 + nAdd, total, function(i, j)
  local r = redis.call('SMISMEMBER', members, unpack(ARGV, i, j))
  for _, v in ipairs(r) do if v == 1 then leaving = leaving + 1 end end
end)
if #newcomers > 0 and card - leaving + #newcomers > max then return {'full', card} end
chunks(3 + nAdd, total, function(i, j)
  redis.call('SREM', members, unpack(ARGV, i, j))
  redis.call('HDEL', cursors, unpack(ARGV, i, j))
end)
if #newcomers > 0 then
  local head = redis.call('GET', KEYS[3]) or '0'
  chunks(1, #newcomers, function(i, j)
    local fields = {}
    for k = i, j do
      fields[#fields + 1] = newcomers[k]
      fields[#fields + 1] = head
    end
    redis.call('HSET', cursors, unpack(fields))
  end)
end
chunks(3, 2 + nAdd, function(i, j) redis.call('SADD', members, unpack(ARGV, i, j)) end)
return {'ok', redis.call('SCARD', members)}
`;

export const MEMBERS_UPDATE_SCRIPT = defineScript('members_update', UPDATE_SOURCE);

export class GroupMembers {
  constructor(
    private readonly store: RedisStore,
    private readonly maxMembers: number,
  ) {}

  /**
   * Add and remove members (disjoint, de-duplicated lists). Returns the member count after the
   * change. Throws ProtocolError(GROUP_FULL) when the additions would pass the limit; then the
   * group set is unchanged.
   */
  async update(groupId: string, add: readonly string[], remove: readonly string[]): Promise<number> {
    const membersKey = keys.groupMembers(groupId);
    if (add.length > 0) {
      const pre = await this.store.batch([
        ['scard', membersKey],
        ['smismember', membersKey, ...add],
      ]);
      const [card, flags] = pre.map(valueOf);
      const isMember = Array.isArray(flags) ? flags : [];
      const newcomers = add.filter((_, i) => isMember[i] !== 1).length;
      // Reject before writing anything when even removing every named user cannot make room; the
      // script below decides exactly (and atomically) in the remaining cases.
      if (newcomers > 0 && toCount(card) - remove.length + newcomers > this.maxMembers) throw groupFull(groupId, this.maxMembers);
      // Every named user gets the groups entry (repairs a lost one).
      await this.userWrites(add.map((u): BatchCommand => ['sadd', keys.userGroups(u), groupId]));
    }
    const reply = await this.store.script<unknown>(
      MEMBERS_UPDATE_SCRIPT,
      [membersKey, keys.groupCursors(groupId), keys.groupSeq(groupId)],
      [this.maxMembers, add.length, ...add, ...remove],
    );
    if (!Array.isArray(reply)) throw new Error('members_update returned an unexpected reply');
    if (reply[0] === 'full') throw groupFull(groupId, this.maxMembers);
    if (reply[0] !== 'ok' || typeof reply[1] !== 'number') throw new Error('members_update returned an unexpected reply');
    if (remove.length > 0) await this.userWrites(remove.map((u): BatchCommand => ['srem', keys.userGroups(u), groupId]));
    return reply[1];
  }

  /** Member ids, sorted. */
  async list(groupId: string): Promise<string[]> {
    const reply = await this.store.call<unknown>('smembers', keys.groupMembers(groupId));
    return stringsOf(reply).sort();
  }

  private async userWrites(commands: readonly BatchCommand[]): Promise<void> {
    for (let i = 0; i < commands.length; i += USER_WRITES_PER_BATCH) {
      throwFirst(await this.store.batch(commands.slice(i, i + USER_WRITES_PER_BATCH)));
    }
  }
}

function groupFull(groupId: string, max: number): ProtocolError {
  return new ProtocolError(ErrorCode.GROUP_FULL, `group ${groupId} would have more than ${max} members; remove members first or raise IMGROUP_MAX_MEMBERS_PER_GROUP`);
}
