/**
 * Login replay: when a connection opens, push it what its user has not acknowledged. One command
 * reads the user's groups; then, per chunk of groups, the log reader reads each group's log past
 * the member's cursor (group side, `im:{g:G}:cursors`) with a membership re-check, one page
 * script per group, pipelined (one round trip per master and pass): at most replayLimit messages
 * per group and replayMaxBytes bytes for the whole login, within the node's read budget. They go
 * to the one connection as `deliver` frames (`conns:[connId]`, path `offline`), oldest first per
 * group, at most deliverBatchMax per frame, all before the `res`. What lies beyond the limits the
 * client pulls with `sync` (or the sweep pushes).
 *
 * Every group with a backlog must get at least its first unacknowledged message: a client with no
 * state of its own takes the first message it sees in a group as the start, so a group that got
 * nothing would start at its next live message, and the client's ack would move the cursor past
 * the backlog. Groups the replay bytes did not reach therefore get that one message each from a
 * second budget of replayMaxBytes ("seeds"); the client syncs the rest as a gap. Only a user with
 * more groups with a backlog than fit in the seed budget (about replayMaxBytes / message size)
 * leaves some without (then the client must seed its cursor from its own storage).
 *
 * A login that ran past its request deadline stops pushing (the gate has been answered
 * UNAVAILABLE and will retry or let the client sync).
 *
 * An entry in the user's groups set without the matching group membership (left by a crash
 * between the two writes of a membership change) is skipped, never replayed.
 */
import type { LoginResult } from '../protocol/internal-frames.js';
import { keys } from '../redis/keys.js';
import type { RedisStore } from '../redis/redis-store.js';
import { stringsOf } from './batch-replies.js';
import type { GateDelivery } from './gate-delivery.js';
import type { GateLink } from './gate-links.js';
import type { LogReader } from './log-reader.js';

export interface ReplayOptions {
  replayLimit: number;
  replayMaxBytes: number;
  deliverBatchMax: number;
  loginGroupsPerBatch: number;
}

export class OfflineReplay {
  constructor(
    private readonly store: RedisStore,
    private readonly reader: LogReader,
    private readonly delivery: GateDelivery,
    private readonly opts: ReplayOptions,
  ) {}

  /** Replay to `connId` on `link`; stops early (between frames) once `signal` is aborted. */
  async login(link: GateLink, userId: string, connId: string, signal?: AbortSignal): Promise<LoginResult> {
    const groups = stringsOf(await this.store.call<unknown>('smembers', keys.userGroups(userId))).sort();
    const tally = { replayed: 0, delivered: 0 };
    /** Groups with a backlog that the replay bytes did not reach (nothing of theirs was pushed). */
    const unreached: string[] = [];
    let bytesLeft = this.opts.replayMaxBytes;
    let i = 0;
    for (; i < groups.length && bytesLeft > 0; i += this.opts.loginGroupsPerBatch) {
      const chunk = groups.slice(i, i + this.opts.loginGroupsPerBatch);
      const read = await this.push(link, userId, connId, chunk, this.opts.replayLimit, bytesLeft, bytesLeft === this.opts.replayMaxBytes, tally, signal);
      if (read === null) return { groups: tally.replayed, delivered: tally.delivered };
      bytesLeft -= read.bytes;
      unreached.push(...read.unreached);
    }
    unreached.push(...groups.slice(i));
    let seedBytesLeft = this.opts.replayMaxBytes;
    for (let j = 0; j < unreached.length && seedBytesLeft > 0; j += this.opts.loginGroupsPerBatch) {
      const chunk = unreached.slice(j, j + this.opts.loginGroupsPerBatch);
      const read = await this.push(link, userId, connId, chunk, 1, seedBytesLeft, seedBytesLeft === this.opts.replayMaxBytes, tally, signal);
      if (read === null) break;
      seedBytesLeft -= read.bytes;
    }
    return { groups: tally.replayed, delivered: tally.delivered };
  }

  /**
   * Read up to `maxCount` messages past the user's cursor in each group of `chunk` within
   * `budgetBytes`, and push them to the connection. Null when the replay is to stop (aborted, or
   * the connection is gone); else the bytes read and the groups with a backlog that got nothing.
   */
  private async push(
    link: GateLink,
    userId: string,
    connId: string,
    chunk: readonly string[],
    maxCount: number,
    budgetBytes: number,
    oversize: boolean,
    tally: { replayed: number; delivered: number },
    signal: AbortSignal | undefined,
  ): Promise<{ bytes: number; unreached: string[] } | null> {
    if (signal?.aborted) return null;
    const { results, bytes } = await this.reader.read(
      chunk.map((groupId) => ({ groupId, memberCheck: userId, afterSeq: null, maxCount })),
      { budgetBytes, oversize, path: 'replay', signal },
    );
    const unreached: string[] = [];
    for (const [at, groupId] of chunk.entries()) {
      if (signal?.aborted) return null;
      const r = results[at];
      const msgs = r?.messages ?? [];
      if (msgs.length === 0) {
        if (r?.member === true && r.more) unreached.push(groupId);
        continue;
      }
      const sent = await this.delivery.toConnection(link, connId, groupId, msgs, this.opts.deliverBatchMax, 'offline');
      if (sent === 0) return null;
      tally.replayed++;
      tally.delivered += sent;
    }
    return { bytes, unreached };
  }
}
