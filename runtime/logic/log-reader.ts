/**
 * Reading group logs within a byte budget: sync pages, login replay and the sweep all read
 * through here. A call reads several logs (one per group or cursor) within one budget, in passes;
 * each pass is one pipelined batch of page scripts (one round trip per master) that first
 * reserves its bytes from the node's ReadBudget and releases them when the replies are in (after
 * a command timeout: once the connection has answered a later PING, since Redis may still be
 * holding the late reply).
 *
 * The budget is shared out by `planShares`: a read whose next entry's size is known (from the
 * previous pass) gets exactly that much first, the others split the rest evenly. A read that got
 * less than it wanted goes on in the next pass with what others left over, so small logs do not
 * starve behind big ones and the budget is used without ever being exceeded. With `oversize`,
 * a call that has read nothing yet may read one entry bigger than its whole budget (alone), so
 * that paging always progresses; such an entry is bounded by the gates' IMGROUP_MAX_BODY_BYTES.
 */
import type { ChatMessage } from '../protocol/client-frames.js';
import { redisErrorKind } from '../redis/redis-errors.js';
import type { BatchReply, RedisStore } from '../redis/redis-store.js';
import { valueOf } from './batch-replies.js';
import { type PageRequest, pageCall, parsePage } from './log-page.js';
import type { ReadBudget } from './read-budget.js';

/** Passes (round trips) of one read call at most. */
export const MAX_PASSES = 8;

export type ReadPath = 'sync' | 'replay' | 'sweep';

export interface LogRead {
  groupId: string;
  /** Only a member of the group gets entries (null: no check). */
  memberCheck: string | null;
  /** Entries with seq > afterSeq; null: after memberCheck's cursor. */
  afterSeq: number | null;
  maxCount: number;
}

export interface LogReadResult {
  /** False when memberCheck is not a member of the group (then nothing was read). */
  member: boolean;
  /** Oldest first. */
  messages: ChatMessage[];
  /** More entries follow the last message (or the start), whether or not this call could read them. */
  more: boolean;
}

export interface ReadCall {
  budgetBytes: number;
  /** May read one entry bigger than budgetBytes when nothing else has been read. */
  oversize: boolean;
  path: ReadPath;
  /** Stops between passes once aborted. */
  signal?: AbortSignal | undefined;
}

export interface LogReads {
  /** Bytes of pages received, by path. */
  bytesRead(path: ReadPath, bytes: number): void;
}

interface ReadState {
  groupId: string;
  memberCheck: string | null;
  afterSeq: number | null;
  left: number;
  /** Size of the next entry, when a pass found it did not fit (0: unknown). */
  need: number;
  done: boolean;
  result: LogReadResult;
}

export class LogReader {
  constructor(
    private readonly store: RedisStore,
    private readonly budget: ReadBudget,
    private readonly counters: LogReads,
  ) {}

  /** Read `reads` within `call.budgetBytes` bytes in all; results in the order of `reads`. */
  async read(reads: readonly LogRead[], call: ReadCall): Promise<{ results: LogReadResult[]; bytes: number }> {
    const states: ReadState[] = reads.map((r) => ({
      groupId: r.groupId,
      memberCheck: r.memberCheck,
      afterSeq: r.afterSeq,
      left: r.maxCount,
      need: 0,
      done: r.maxCount < 1,
      result: { member: true, messages: [], more: r.maxCount < 1 },
    }));
    let bytes = 0;
    for (let pass = 0; pass < MAX_PASSES && !call.signal?.aborted; pass++) {
      const active = states.filter((s) => !s.done);
      if (active.length === 0) break;
      const shares = planShares(
        active.map((s) => s.need),
        call.budgetBytes - bytes,
        call.oversize && bytes === 0,
      );
      const picked = active.flatMap((s, i) => {
        const share = shares[i] ?? 0;
        return share > 0 ? [{ s, req: requestOf(s, share) }] : [];
      });
      if (picked.length === 0) break;
      const lease = await this.budget.acquire(
        picked.reduce((sum, p) => sum + p.req.maxBytes, 0),
        call.signal,
      );
      const calls = picked.map((p) => pageCall(p.req));
      let replies: BatchReply[] | undefined;
      try {
        replies = await this.store.scripts(calls);
      } finally {
        // A page that timed out may still be in Redis's reply buffer, or on its way: its bytes
        // stay reserved until the connection has moved past it.
        if (replies?.some(([err]) => err !== null && redisErrorKind(err) === 'timeout')) {
          void this.store.drained(calls.map((c) => c.keys[0] ?? '')).then(() => lease.release());
        } else {
          lease.release();
        }
      }
      let passBytes = 0;
      picked.forEach(({ s, req }, i) => {
        const page = parsePage(req, valueOf(replies[i]));
        if (page.kind === 'not_member') {
          s.result.member = false;
          s.done = true;
          return;
        }
        passBytes += page.bytes;
        s.result.messages.push(...page.messages);
        s.result.more = page.more;
        s.afterSeq = page.messages.at(-1)?.seq ?? page.afterSeq;
        s.left -= page.messages.length;
        s.need = page.nextBytes;
        s.done = !page.more || s.left <= 0 || (page.messages.length === 0 && page.nextBytes === 0);
      });
      bytes += passBytes;
      this.counters.bytesRead(call.path, passBytes);
    }
    return { results: states.map((s) => s.result), bytes };
  }
}

function requestOf(s: ReadState, share: number): PageRequest {
  return { groupId: s.groupId, memberCheck: s.memberCheck, afterSeq: s.afterSeq, maxCount: s.left, maxBytes: share };
}

/**
 * Bytes each read may use in one pass, within `budget` in all. `needs[i]` is the size of read
 * i's next entry when known (> 0), else 0. Reads with a known need get exactly it, in order, while
 * it fits; the rest of the budget goes in equal parts to the reads of unknown need (or, when
 * there are none, on top of the known ones). With `oversize`, when nothing could be given, the
 * first read with a known need gets it alone even beyond the budget. Pure.
 */
export function planShares(needs: readonly number[], budget: number, oversize: boolean): number[] {
  const shares: number[] = needs.map(() => 0);
  let left = Math.max(0, Math.floor(budget));
  const unknown: number[] = [];
  const known: number[] = [];
  needs.forEach((need, i) => {
    if (need <= 0) unknown.push(i);
    else if (need <= left) {
      shares[i] = need;
      left -= need;
      known.push(i);
    }
  });
  const takers = unknown.length > 0 ? unknown : known;
  const each = takers.length > 0 ? Math.floor(left / takers.length) : 0;
  for (const i of takers) shares[i] = (shares[i] ?? 0) + each;
  if (oversize && !shares.some((s) => s > 0)) {
    const first = needs.findIndex((need) => need > 0);
    if (first >= 0) shares[first] = needs[first] as number;
  }
  return shares;
}
