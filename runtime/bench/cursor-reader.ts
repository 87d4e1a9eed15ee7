/**
 * The stored cursors of members (highest acknowledged seq per member and group), read from Redis
 * at the end of a run to tell a lost message from one that is merely still due: a missing message
 * at or below the member's cursor will never be delivered again — it is lost. The key layout
 * comes from runtime/redis/keys.ts.
 */
import { keys } from '../redis/keys.js';
import type { RedisStore } from '../redis/redis-store.js';

/** Members per HMGET. */
const USERS_PER_COMMAND = 1000;

export type CursorLookup = (wanted: ReadonlyMap<string, readonly string[]>) => Promise<Map<string, Map<string, number>>>;

/** Cursor of every (group → users) pair asked for; a missing or malformed value counts as 0. */
export function redisCursorLookup(store: RedisStore): CursorLookup {
  return async (wanted) => {
    const commands: Array<{ groupId: string; users: string[] }> = [];
    for (const [groupId, users] of wanted) {
      for (let i = 0; i < users.length; i += USERS_PER_COMMAND) commands.push({ groupId, users: users.slice(i, i + USERS_PER_COMMAND) });
    }
    const replies = await store.batch(commands.map((c) => ['hmget', keys.groupCursors(c.groupId), ...c.users] as const));
    const out = new Map<string, Map<string, number>>();
    commands.forEach((c, i) => {
      const [err, reply] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw new Error(`cannot read the cursors of group ${c.groupId}: ${err.message}`);
      let perUser = out.get(c.groupId);
      if (!perUser) out.set(c.groupId, (perUser = new Map()));
      const values = Array.isArray(reply) ? reply : [];
      c.users.forEach((u, j) => perUser.set(u, cursorValue(values[j])));
    });
    return out;
  };
}

function cursorValue(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
