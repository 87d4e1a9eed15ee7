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
    let replayed = 0;
    let delivered = 0;
    let bytesLeft = this.opts.replayMaxBytes;
    for (let i = 0; i < groups.length && bytesLeft > 0; i += this.opts.loginGroupsPerBatch) {
      if (signal?.aborted) break;
      const chunk = groups.slice(i, i + this.opts.loginGroupsPerBatch);
      const { results, bytes } = await this.reader.read(
        chunk.map((groupId) => ({ groupId, memberCheck: userId, afterSeq: null, maxCount: this.opts.replayLimit })),
        { budgetBytes: bytesLeft, oversize: bytesLeft === this.opts.replayMaxBytes, path: 'replay', signal },
      );
      bytesLeft -= bytes;
      for (const [at, groupId] of chunk.entries()) {
        if (signal?.aborted) break;
        const msgs = results[at]?.messages ?? [];
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
