/**
 * Group membership, kept twice: `im:{g:G}:members` (who may send and receive) and, per user,
 * `im:{u:U}:groups` (which logs to replay at login). The two live in different slots, so they
 * cannot change atomically; the writes are ordered so that a crash in between leaves at worst an
 * extra entry in a user's `groups` set, which readers ignore (login replay re-checks membership
 * against the group's own set):
 *
 *   add:    user side first (groups += G; a newcomer's cursor := the group's head, so history
 *           from before joining is not unread), then the group set;
 *   remove: the group set first, then the user side (groups -= G, cursor deleted).
 *
 * The group set changes in one script that enforces the member limit atomically.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { keys } from '../redis/keys.js';
import { type BatchCommand, defineScript, type RedisStore } from '../redis/redis-store.js';
import { stringsOf, throwFirst, toCount, valueOf } from './batch-replies.js';

/** Users per pipelined batch of user-side writes. */
const USER_WRITES_PER_BATCH = 1000;

const UPDATE_SOURCE = `
local key = KEYS[1]
local max = tonumber(ARGV[1])
local nAdd = tonumber(ARGV[2])
local total = #ARGV
local function count(first, last, want)
  local c = 0
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    local r = redis.call('SMISMEMBER', key, unpack(ARGV, i, j))
    for _, v in ipairs(r) do if v == want then c = c + 1 end end
    i = j + 1
  end
  return c
end
local card = redis.call('SCARD', key)
local newcomers = count(3, 2 + nAdd, 0)
local leaving = count(3 + nAdd, total, 1)
if newcomers > 0 and card - leaving + newcomers > max then return {'full', card} end
local function apply(cmd, first, last)
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
end
apply('SREM', 3 + nAdd, total)
apply('SADD', 3, 2 + nAdd)
return {'ok', redis.call('SCARD', key)}
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
        ['get', keys.groupSeq(groupId)],
        ['smismember', membersKey, ...add],
      ]);
      const [card, head, flags] = pre.map(valueOf);
      const isMember = Array.isArray(flags) ? flags : [];
      const newcomers = add.filter((_, i) => isMember[i] !== 1);
      const cardNow = toCount(card);
      // Reject before writing anything when even removing every named user cannot make room; the
      // script below decides exactly (and atomically) in the remaining cases.
      if (newcomers.length > 0 && cardNow - remove.length + newcomers.length > this.maxMembers) throw groupFull(groupId, this.maxMembers);
      const headSeq = toCount(head);
      // Every named user gets the groups entry (repairs a lost one); only newcomers get a cursor.
      await this.userWrites([
        ...add.map((u): BatchCommand => ['sadd', keys.userGroups(u), groupId]),
        ...newcomers.map((u): BatchCommand => ['hsetnx', keys.userCursors(u), groupId, headSeq]),
      ]);
    }
    const reply = await this.store.script<unknown>(MEMBERS_UPDATE_SCRIPT, [membersKey], [this.maxMembers, add.length, ...add, ...remove]);
    if (!Array.isArray(reply)) throw new Error('members_update returned an unexpected reply');
    if (reply[0] === 'full') throw groupFull(groupId, this.maxMembers);
    if (reply[0] !== 'ok' || typeof reply[1] !== 'number') throw new Error('members_update returned an unexpected reply');
    if (remove.length > 0) {
      await this.userWrites(
        remove.flatMap((u): BatchCommand[] => [
          ['srem', keys.userGroups(u), groupId],
          ['hdel', keys.userCursors(u), groupId],
        ]),
      );
    }
    return reply[1];
  }

  /** Member ids, sorted. */
  async list(groupId: string): Promise<string[]> {
    const reply = await this.store.call<unknown>('smembers', keys.groupMembers(groupId));
    return stringsOf(reply).sort();
  }

  private async userWrites(commands: readonly BatchCommand[]): Promise<void> {
    for (let i = 0; i < commands.length; i += USER_WRITES_PER_BATCH * 2) {
      throwFirst(await this.store.batch(commands.slice(i, i + USER_WRITES_PER_BATCH * 2)));
    }
  }
}

function groupFull(groupId: string, max: number): ProtocolError {
  return new ProtocolError(ErrorCode.GROUP_FULL, `group ${groupId} would have more than ${max} members; remove members first or raise IMGROUP_MAX_MEMBERS_PER_GROUP`);
}
