/**
 * Login replay: when a connection opens, push it what its user has not acknowledged. One batch
 * reads the user's groups and cursors (same slot); then, per chunk of groups, one pipelined
 * batch (one round trip per master) re-checks membership and reads each log past the cursor, at
 * most replayLimit messages per group. They go to the one connection as `deliver` frames
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
import type { BatchCommand, RedisStore } from '../redis/redis-store.js';
import { stringsOf, valueOf } from './batch-replies.js';
import { parseCursorHash } from './cursors.js';
import type { GateDelivery } from './gate-delivery.js';
import type { GateLink } from './gate-links.js';
import { parseEntries, rangeCommand } from './message-log.js';

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
    const [groupsReply, cursorsReply] = await this.store.batch([
      ['smembers', keys.userGroups(userId)],
      ['hgetall', keys.userCursors(userId)],
    ]);
    const groups = stringsOf(valueOf(groupsReply)).sort();
    const cursors = parseCursorHash(valueOf(cursorsReply));
    let replayed = 0;
    let delivered = 0;
    for (let i = 0; i < groups.length; i += this.opts.loginGroupsPerBatch) {
      if (signal?.aborted) break;
      const chunk = groups.slice(i, i + this.opts.loginGroupsPerBatch);
      const commands: BatchCommand[] = [];
      const reads: Array<{ groupId: string; at: number }> = [];
      for (const groupId of chunk) {
        const range = rangeCommand(groupId, cursors.get(groupId) ?? 0, this.opts.replayLimit);
        if (!range) continue;
        reads.push({ groupId, at: commands.length });
        commands.push(['sismember', keys.groupMembers(groupId), userId], range);
      }
      const replies = await this.store.batch(commands);
      for (const { groupId, at } of reads) {
        if (signal?.aborted) break;
        if (valueOf(replies[at]) !== 1) continue;
        const msgs = parseEntries(groupId, valueOf(replies[at + 1]));
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
