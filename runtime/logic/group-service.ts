/**
 * The group requests of the internal protocol: send, post, sync, members.update, members.get.
 * Ids are checked again here (they become parts of Redis keys); a bad one is BAD_FRAME.
 * A send is answered only after the message is stored; online fan-out follows.
 */
import type { Logger } from 'pino';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { ID_RULE, isValidId, isValidRequestId } from '../protocol/ids.js';
import type {
  MembersGetRequest,
  MembersGetResult,
  MembersUpdateRequest,
  MembersUpdateResult,
  PostRequest,
  SendRequest,
  SendResult,
  SyncRequest,
  SyncResult,
} from '../protocol/internal-frames.js';
import type { CursorWriter } from './cursor-writer.js';
import type { Fanout } from './fanout.js';
import type { GroupMembers } from './group-members.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { MemberCache } from './member-cache.js';
import type { LogReader } from './log-reader.js';
import type { AppendInput, MessageLog } from './message-log.js';
import type { Sweep } from './sweep.js';

/** Prefix of the idempotency "user" of admin posts; `|` is outside the id alphabet, so it never names a user. */
export const POST_IDEMPOTENCY_PREFIX = 'post|';

export interface GroupServiceDeps {
  log: MessageLog;
  /** Sync pages, byte-bounded and within the node's read budget. */
  reader: LogReader;
  members: GroupMembers;
  /** Cached member lists: the membership check of sync; dropped (and announced) on a change. */
  memberCache: MemberCache;
  /** Held-back acks of removed members are forgotten. */
  cursors: CursorWriter;
  fanout: Fanout;
  sweep: Sweep;
  metrics: LogicMetrics;
  logger: Logger;
  maxSyncLimit: number;
  syncPageBytes: number;
}

export class GroupService {
  constructor(private readonly deps: GroupServiceDeps) {}

  async send(req: SendRequest): Promise<SendResult> {
    requireId('userId', req.userId);
    requireId('groupId', req.groupId);
    requireClientId(req.clientId);
    return this.append({ groupId: req.groupId, from: req.userId, body: req.body, idemUser: req.userId, clientId: req.clientId, memberCheck: req.userId });
  }

  async post(req: PostRequest): Promise<SendResult> {
    requireId('from', req.from);
    requireId('groupId', req.groupId);
    requireClientId(req.clientId);
    return this.append({ groupId: req.groupId, from: req.from, body: req.body, idemUser: `${POST_IDEMPOTENCY_PREFIX}${req.from}`, clientId: req.clientId, memberCheck: null });
  }

  /**
   * One page of the group log after `afterSeq`: at most `limit` (cut to maxSyncLimit) messages
   * and at most syncPageBytes bytes (one message more only when that message alone is larger),
   * `more` when the log goes on. Once `signal` is aborted (the request's deadline passed) it
   * stops waiting for the node's read budget.
   */
  async sync(req: SyncRequest, signal?: AbortSignal): Promise<SyncResult> {
    requireId('userId', req.userId);
    requireId('groupId', req.groupId);
    if (req.limit < 1) throw new ProtocolError(ErrorCode.BAD_FRAME, 'sync "limit" must be at least 1');
    const limit = Math.min(req.limit, this.deps.maxSyncLimit);
    // A cached member list that names the user answers the membership check; otherwise the page script does.
    const known = this.deps.memberCache.knownMember(req.groupId, req.userId);
    const { results } = await this.deps.reader.read(
      [{ groupId: req.groupId, memberCheck: known ? null : req.userId, afterSeq: req.afterSeq, maxCount: limit }],
      { budgetBytes: this.deps.syncPageBytes, oversize: true, path: 'sync', signal },
    );
    // A read cut short by the deadline has no truthful page (the gate was answered UNAVAILABLE).
    if (signal?.aborted) throw new ProtocolError(ErrorCode.UNAVAILABLE, 'sync ran past its deadline; retry');
    const page = results[0];
    if (!page?.member) throw notMember(req.userId, req.groupId);
    return { messages: page.messages, more: page.more };
  }

  async updateMembers(req: MembersUpdateRequest): Promise<MembersUpdateResult> {
    requireId('groupId', req.groupId);
    const add = [...new Set(req.add)];
    const remove = [...new Set(req.remove)];
    for (const [name, list] of [['add', add], ['remove', remove]] as const) {
      const bad = list.findIndex((u) => !isValidId(u));
      if (bad >= 0) throw new ProtocolError(ErrorCode.BAD_FRAME, `"${name}[${bad}]" is not a user id (${ID_RULE})`);
    }
    const removing = new Set(remove);
    const both = add.find((u) => removing.has(u));
    if (both !== undefined) throw new ProtocolError(ErrorCode.BAD_FRAME, `user ${JSON.stringify(both)} is in both "add" and "remove"`);
    let members: number;
    try {
      members = await this.deps.members.update(req.groupId, add, remove);
    } finally {
      // Even a failed update may have changed the group side: cached lists are dropped either way.
      if (remove.length > 0) this.deps.cursors.forget(req.groupId, remove);
      await this.deps.memberCache.changed(req.groupId);
    }
    this.deps.logger.info({ groupId: req.groupId, added: add.length, removed: remove.length, members }, 'group members updated');
    return { members };
  }

  async getMembers(req: MembersGetRequest): Promise<MembersGetResult> {
    requireId('groupId', req.groupId);
    return { members: await this.deps.members.list(req.groupId) };
  }

  private async append(input: AppendInput): Promise<SendResult> {
    const { metrics } = this.deps;
    const acceptedAt = performance.now();
    let outcome;
    try {
      outcome = await this.deps.log.append(input);
    } catch (err) {
      metrics.messages.inc({ result: 'error' });
      throw err;
    }
    switch (outcome.kind) {
      case 'not_member':
        metrics.messages.inc({ result: 'not_member' });
        throw notMember(input.from, input.groupId);
      case 'duplicate':
        metrics.messages.inc({ result: 'duplicate' });
        // The first attempt may have died before its fan-out: let the sweep look at the group.
        this.deps.sweep.touch(input.groupId);
        return { seq: outcome.seq, ts: outcome.ts };
      case 'stored':
        metrics.messages.inc({ result: 'stored' });
        metrics.messageDuration.observe({ stage: 'stored' }, (performance.now() - acceptedAt) / 1000);
        this.deps.sweep.touch(input.groupId);
        this.deps.fanout.enqueue(outcome.message, acceptedAt);
        return { seq: outcome.message.seq, ts: outcome.message.ts };
    }
  }
}

function requireId(name: string, value: string): void {
  if (!isValidId(value)) throw new ProtocolError(ErrorCode.BAD_FRAME, `"${name}" must be ${ID_RULE}`);
}

function requireClientId(value: string): void {
  if (!isValidRequestId(value)) throw new ProtocolError(ErrorCode.BAD_FRAME, '"clientId" must be 1-128 printable characters');
}

function notMember(userId: string, groupId: string): ProtocolError {
  return new ProtocolError(ErrorCode.NOT_MEMBER, `user ${userId} is not a member of group ${groupId}; an admin adds members with PUT /v1/groups/${groupId}/members`);
}
