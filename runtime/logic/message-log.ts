/**
 * The group log: every message is stored once per group, in the capped stream `im:{g:G}:log`
 * (entry id `<seq>-1`, fields f/b/t). One Lua script assigns the seq and appends atomically:
 *
 *   idempotency check → membership check → INCR seq → XADD (MAXLEN = cap) → bounded time trim
 *   → idempotency record → PEXPIRE log (an idle log expires as a whole after the retention).
 *
 * The timestamp is the Redis server's clock (TIME), so it never goes backwards within a group's
 * shard. All keys of the script share the `{g:G}` hash tag.
 *
 * With `minReplicasAck` > 0 the script is followed by `WAIT n timeout` on the same master
 * connection (RedisStore.scriptThenWait): a message counts as sent only once n replicas hold it.
 * A duplicate then also rewrites its idempotency record's expiry (the same instant): WAIT is
 * documented to cover the writes of its own connection, and that write makes it cover the
 * original append even when another connection made it (another logic node, an earlier
 * connection), since the master's replication stream carries both in order. (Redis 7.0.15, the
 * one tested here, already counts from the master's current offset after a read-only command;
 * the write keeps the guarantee from depending on that.)
 */
import type { ChatMessage } from '../protocol/client-frames.js';
import { keys, seqOfStreamId } from '../redis/keys.js';
import { defineScript, type RedisStore } from '../redis/redis-store.js';

/** At most this many of the oldest entries are inspected per append for time-based trimming. */
export const TRIM_SCAN_MAX = 64;

const APPEND_SOURCE = `
local idem = redis.call('GET', KEYS[4])
if idem then
  if ARGV[8] == '1' then
    local left = redis.call('PTTL', KEYS[4])
    if left > 0 then redis.call('PEXPIRE', KEYS[4], left) end
  end
  return {'dup', idem}
end
if ARGV[3] ~= '' and redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 0 then return {'not_member'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowText = string.format('%d', now)
local seq = redis.call('INCR', KEYS[1])
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '=', ARGV[4], string.format('%d-1', seq), 'f', ARGV[1], 'b', ARGV[2], 't', nowText)
if type(added) == 'table' and added.err then
  -- The seq counter fell behind the log (lost in a failover?): continue after the log's last id.
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  local lastId = '0-0'
  for i = 1, #info, 2 do if info[i] == 'last-generated-id' then lastId = info[i + 1] end end
  seq = tonumber(string.match(lastId, '^(%d+)')) + 1
  redis.call('SET', KEYS[1], string.format('%d', seq))
  redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[4], string.format('%d-1', seq), 'f', ARGV[1], 'b', ARGV[2], 't', nowText)
end
local cutoff = now - tonumber(ARGV[5])
local function ts(entry)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == 't' then return tonumber(f[i + 1]) or 0 end end
  return 0
end
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if head[1] and ts(head[1]) < cutoff then
  local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', ARGV[7])
  local lastOld = nil
  for _, e in ipairs(old) do
    if ts(e) < cutoff then lastOld = e[1] else break end
  end
  if lastOld then
    redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', tonumber(string.match(lastOld, '^(%d+)')) + 1))
  end
end
redis.call('SET', KEYS[4], string.format('%d:%s', seq, nowText), 'PX', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {'ok', seq, now}
`;

export const APPEND_SCRIPT = defineScript('log_append', APPEND_SOURCE);

export interface AppendInput {
  groupId: string;
  from: string;
  body: string;
  /** Idempotency key parts: `im:{g:G}:idem:<idemUser>:<clientId>`. */
  idemUser: string;
  clientId: string;
  /** When set, the message is stored only if this user is a member of the group. */
  memberCheck: string | null;
}

export type AppendOutcome =
  | { kind: 'stored'; message: ChatMessage }
  | { kind: 'duplicate'; seq: number; ts: number }
  | { kind: 'not_member' };

export interface MessageLogOptions {
  logCap: number;
  logRetentionMs: number;
  idempotencyMs: number;
  /** Replicas that must acknowledge an append (WAIT) before it counts as sent; 0: no WAIT. */
  minReplicasAck: number;
  /** The WAIT's timeout in ms. */
  replicasAckTimeoutMs: number;
}

/** What the replicas said about an append that was followed by a WAIT. */
export interface ReplicaAckObserver {
  observed(outcome: 'acked' | 'shortfall' | 'refused' | 'error', seconds: number): void;
}

/**
 * A message the master stored (or found stored) but fewer than `minReplicasAck` replicas
 * acknowledged within the timeout: it may be lost if the master dies now, so it is not reported
 * as sent. Answered UNAVAILABLE; the retry (same id) finds the stored copy and waits again, or —
 * if the copy was lost with its master — stores it anew, once. Also thrown, with `stored` false,
 * for a message not even sent because its master is known to be short of replicas.
 */
export class ReplicaAckShortfall extends Error {
  constructor(
    readonly acked: number,
    readonly wanted: number,
    readonly timeoutMs: number,
    /** False: not even sent, because the master was short of replicas on its last WAIT (RedisStore.scriptThenWait). */
    readonly stored = true,
  ) {
    super(
      stored
        ? `the message reached the Redis master but only ${acked} of the ${wanted} replicas IMGROUP_REDIS_MIN_REPLICAS_ACK asks for acknowledged it within ${timeoutMs} ms, so it could still be lost in a failover; retry with the same id (it is not stored twice)`
        : `the message was not stored: the group's Redis master had fewer than the ${wanted} replicas IMGROUP_REDIS_MIN_REPLICAS_ACK asks for on its last write, and is being checked again; retry with the same id`,
    );
    this.name = 'ReplicaAckShortfall';
  }
}

export class MessageLog {
  constructor(
    private readonly store: Pick<RedisStore, 'script' | 'scriptThenWait'>,
    private readonly opts: MessageLogOptions,
    private readonly acks: ReplicaAckObserver = { observed: () => undefined },
  ) {}

  /**
   * Append a message (or find its earlier copy): one script, one round trip — followed in the
   * same round trip by WAIT when `minReplicasAck` > 0, and then a ReplicaAckShortfall is thrown
   * for a stored or duplicate message that too few replicas acknowledged.
   */
  async append(input: AppendInput): Promise<AppendOutcome> {
    const g = input.groupId;
    const { minReplicasAck, replicasAckTimeoutMs } = this.opts;
    const scriptKeys = [keys.groupSeq(g), keys.groupLog(g), keys.groupMembers(g), keys.groupIdempotency(g, input.idemUser, input.clientId)];
    const args = [input.from, input.body, input.memberCheck ?? '', this.opts.logCap, this.opts.logRetentionMs, this.opts.idempotencyMs, TRIM_SCAN_MAX];
    if (minReplicasAck === 0) return parseAppendReply(g, input, await this.store.script<unknown>(APPEND_SCRIPT, scriptKeys, [...args, '0']));
    const started = performance.now();
    let result;
    try {
      result = await this.store.scriptThenWait({ script: APPEND_SCRIPT, keys: scriptKeys, args: [...args, '1'] }, minReplicasAck, replicasAckTimeoutMs);
    } catch (err) {
      this.acks.observed('error', (performance.now() - started) / 1000);
      throw err;
    }
    if (result === null) {
      // Not sent: this master was short of replicas a moment ago and another append is checking it.
      this.acks.observed('refused', (performance.now() - started) / 1000);
      throw new ReplicaAckShortfall(0, minReplicasAck, replicasAckTimeoutMs, false);
    }
    const outcome = parseAppendReply(g, input, result.reply);
    if (outcome.kind === 'not_member') return outcome;
    const seconds = (performance.now() - started) / 1000;
    if (result.acked < minReplicasAck) {
      this.acks.observed('shortfall', seconds);
      throw new ReplicaAckShortfall(result.acked, minReplicasAck, replicasAckTimeoutMs);
    }
    this.acks.observed('acked', seconds);
    return outcome;
  }
}

export function parseAppendReply(groupId: string, input: AppendInput, reply: unknown): AppendOutcome {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw new Error('log_append returned an unexpected reply');
  switch (reply[0]) {
    case 'not_member':
      return { kind: 'not_member' };
    case 'dup': {
      const [seqText, tsText] = String(reply[1]).split(':');
      const seq = Number(seqText);
      const ts = Number(tsText);
      if (!isPositiveSafe(seq) || !isPositiveSafe(ts)) throw new Error('log_append returned a malformed idempotency record');
      return { kind: 'duplicate', seq, ts };
    }
    case 'ok': {
      const seq = reply[1];
      const ts = reply[2];
      if (!isPositiveSafe(seq) || !isPositiveSafe(ts)) throw new Error('log_append returned a malformed seq or timestamp');
      return { kind: 'stored', message: { groupId, seq, from: input.from, body: input.body, ts } };
    }
    default:
      throw new Error('log_append returned an unknown outcome');
  }
}

function isPositiveSafe(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

/**
 * Stream entries → messages. Entries that are not of our form (foreign id, missing or mistyped
 * fields) are skipped: the log is untrusted input too.
 */
export function parseEntries(groupId: string, reply: unknown): ChatMessage[] {
  if (!Array.isArray(reply)) return [];
  const out: ChatMessage[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) continue;
    const seq = seqOfStreamId(entry[0]);
    if (seq === null) continue;
    const fields = entry[1] as unknown[];
    let from: unknown;
    let body: unknown;
    let ts: unknown;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      if (name === 'f') from = fields[i + 1];
      else if (name === 'b') body = fields[i + 1];
      else if (name === 't') ts = Number(fields[i + 1]);
    }
    if (typeof from !== 'string' || typeof body !== 'string' || !isPositiveSafe(ts)) continue;
    out.push({ groupId, seq, from, body, ts });
  }
  return out;
}
