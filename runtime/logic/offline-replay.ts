/**
 * Login replay: when a connection opens, push it what its user has not acknowledged. One command
 * reads the user's groups; then, per chunk of groups, one script call per group, pipelined (one
 * round trip per master), re-checks membership, reads the member's cursor (group side,
 * `im:{g:G}:cursors`) and the log past it, at most replayLimit messages per group. They go to the one connection as `deliver` frames
 * (`conns:[connId]`, path `offline`), oldest first per group, at most deliverBatchMax per frame,
 * all before the `res`. What lies beyond the limit the client pulls with `sync`.
 *
 * A login that ran past its request deadline stops pushing (the gate has been answered
 * UNAVAILABLE and will retry or let the client sync).
 *
 * An entry in the user's groups set without the matching group membership (left by a crash
 * between the two writes of a membership change) is skipped, never replayed.
 */
import type { LoginResult } from '../protocol/internal-frames.js';
import { keys } from '../redis/keys.js';
import { defineScript, type RedisStore, type ScriptCall } from '../redis/redis-store.js';
import { stringsOf, valueOf } from './batch-replies.js';
import type { GateDelivery } from './gate-delivery.js';
import type { GateLink } from './gate-links.js';
import { parseEntries } from './message-log.js';

// KEYS: members, cursors, log. ARGV: userId, limit. nil when not a member, else the XRANGE reply.
const REPLAY_SOURCE = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return false end
local cursor = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or 0
if cursor < 0 then cursor = 0 end
return redis.call('XRANGE', KEYS[3], string.format('%d-0', cursor + 1), '+', 'COUNT', ARGV[2])
`;

export const REPLAY_SCRIPT = defineScript('replay_range', REPLAY_SOURCE);

export interface ReplayOptions {
  replayLimit: number;
  deliverBatchMax: number;
  loginGroupsPerBatch: number;
}

export class OfflineReplay {
  constructor(
    private readonly store: RedisStore,
    private readonly delivery: GateDelivery,
    private readonly opts: ReplayOptions,
  ) {}

  /** Replay to `connId` on `link`; stops early (between frames) once `signal` is aborted. */
  async login(link: GateLink, userId: string, connId: string, signal?: AbortSignal): Promise<LoginResult> {
    const groups = stringsOf(await this.store.call<unknown>('smembers', keys.userGroups(userId))).sort();
    let replayed = 0;
    let delivered = 0;
    for (let i = 0; i < groups.length; i += this.opts.loginGroupsPerBatch) {
      if (signal?.aborted) break;
      const chunk = groups.slice(i, i + this.opts.loginGroupsPerBatch);
      const calls = chunk.map(
        (groupId): ScriptCall => ({
          script: REPLAY_SCRIPT,
          keys: [keys.groupMembers(groupId), keys.groupCursors(groupId), keys.groupLog(groupId)],
          args: [userId, this.opts.replayLimit],
        }),
      );
      const replies = await this.store.scripts(calls);
      for (const [at, groupId] of chunk.entries()) {
        if (signal?.aborted) break;
        const reply = valueOf(replies[at]);
        if (!Array.isArray(reply)) continue;
        const msgs = parseEntries(groupId, reply);
        if (msgs.length === 0) continue;
        const sent = await this.delivery.toConnection(link, connId, groupId, msgs, this.opts.deliverBatchMax, 'offline');
        if (sent === 0) return { groups: replayed, delivered };
        replayed++;
        delivered += sent;
      }
    }
    return { groups: replayed, delivered };
  }
}
