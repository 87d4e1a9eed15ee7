/**
 * Everything a gate sends on its link, handled here: requests (answered by exactly one `res`),
 * acks, missed notices, and malformed frames (counted, logged, answered BAD_FRAME when they carry
 * a rid, never fatal). Work per link is bounded (maxInFlightPerLink) and every request has a
 * deadline after which it is answered UNAVAILABLE (a late result is then dropped). A request that
 * meets a transient Redis failure (a failover) is run again within its bound (StorageRetry).
 */
import type { Logger } from 'pino';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { isValidId, isValidRequestId } from '../protocol/ids.js';
import {
  type AckNotice,
  decodeGateFrame,
  type InternalOp,
  type MissedNotice,
  type ReqFrame,
} from '../protocol/internal-frames.js';
import { isRetryableRedisError } from '../redis/redis-errors.js';
import type { CursorWriter } from './cursor-writer.js';
import type { GateLink } from './gate-links.js';
import type { GroupService } from './group-service.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { OfflineReplay } from './offline-replay.js';
import type { PresenceCache } from './presence-cache.js';
import { type Failure, failureOf, RequestTimeoutError } from './request-failure.js';
import type { StorageHealth } from './storage-health.js';
import type { StorageRetry } from './storage-retry.js';

/** Warnings about other Redis failures are logged at most this often (each is counted in metrics). */
const WARN_EVERY_MS = 10_000;

export interface FrameHandlerDeps {
  service: GroupService;
  replay: OfflineReplay;
  cursors: CursorWriter;
  /** Told about `missed` users (self-correction of the session cache). */
  presence: Pick<PresenceCache, 'dropMissed'>;
  /** Runs each request again on transient Redis failures, within its bound and the deadline. */
  retry: StorageRetry;
  /** Told about transient Redis failures of acks (a failover is logged there, once). */
  health: StorageHealth;
  metrics: LogicMetrics;
  log: Logger;
  maxInFlightPerLink: number;
  requestTimeoutMs: number;
}

export class FrameHandler {
  private readonly work = new Set<Promise<void>>();
  private accepting = true;
  private lastWarnMs = 0;

  constructor(private readonly deps: FrameHandlerDeps) {}

  /** Handle one text frame of `link`. Never throws. */
  handle(link: GateLink, text: string): void {
    link.alive = true;
    const frame = decodeGateFrame(text);
    if (!frame) {
      this.malformed(link, text);
      return;
    }
    switch (frame.t) {
      case 'req':
        this.request(link, frame);
        return;
      case 'ack':
        this.ack(link, frame);
        return;
      case 'missed':
        this.missed(link, frame);
        return;
    }
  }

  /** A binary frame (the internal protocol is text only). */
  handleBinary(link: GateLink): void {
    this.malformed(link, null);
  }

  /** From now on requests are answered UNAVAILABLE (shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves when every request in progress has finished, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.work.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.work]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  get inFlight(): number {
    return this.work.size;
  }

  private malformed(link: GateLink, text: string | null): void {
    link.badFrames++;
    this.deps.metrics.internalFrameErrors.inc();
    const rid = text === null ? null : ridOf(text);
    const level = isPowerOfTen(link.badFrames) ? 'warn' : 'debug';
    this.deps.log[level]({ gate: link.gate, badFrames: link.badFrames, bytes: text?.length ?? null, rid }, 'malformed frame from gate');
    if (rid !== null) {
      link.send({ t: 'res', rid, ok: false, code: ErrorCode.BAD_FRAME, message: 'malformed internal request: a field is missing, mistyped or too long' });
    }
  }

  private request(link: GateLink, frame: ReqFrame): void {
    const { op, rid } = frame;
    if (!this.accepting) {
      this.reply(link, rid, op, { code: ErrorCode.UNAVAILABLE, message: 'logic node is shutting down; retry on another node' });
      return;
    }
    if (link.inFlight >= this.deps.maxInFlightPerLink) {
      this.reply(link, rid, op, { code: ErrorCode.UNAVAILABLE, message: `more than ${this.deps.maxInFlightPerLink} requests in flight on this link; retry later` });
      return;
    }
    link.inFlight++;
    let answered = false;
    const abort = new AbortController();
    const deadline = { atMs: Date.now() + this.deps.requestTimeoutMs, signal: abort.signal };
    const timer = setTimeout(() => {
      answered = true;
      abort.abort();
      this.reply(link, rid, op, failureOf(new RequestTimeoutError(this.deps.requestTimeoutMs)));
    }, this.deps.requestTimeoutMs);
    const done = this.deps.retry
      .run(op, () => this.run(link, frame, abort.signal), deadline)
      .then(
        (result) => {
          if (answered) return;
          link.send({ t: 'res', rid, ok: true, result });
          this.deps.metrics.requests.inc({ op, code: 'ok' });
        },
        (err: unknown) => {
          const failure = failureOf(err);
          this.logFailure(err, failure, link, op);
          if (!answered) this.reply(link, rid, op, failure);
        },
      )
      .finally(() => {
        answered = true;
        clearTimeout(timer);
        link.inFlight--;
        this.work.delete(done);
      });
    this.work.add(done);
  }

  private run(link: GateLink, frame: ReqFrame, signal: AbortSignal): Promise<unknown> {
    const { service } = this.deps;
    switch (frame.op) {
      case 'send':
        return service.send(frame);
      case 'post':
        return service.post(frame);
      case 'sync':
        return service.sync(frame, signal);
      case 'members.update':
        return service.updateMembers(frame);
      case 'members.get':
        return service.getMembers(frame);
      case 'login':
        if (!isValidId(frame.userId)) return Promise.reject(new ProtocolError(ErrorCode.BAD_FRAME, 'login "userId" is not a valid user id'));
        if (!isValidRequestId(frame.connId)) return Promise.reject(new ProtocolError(ErrorCode.BAD_FRAME, 'login "connId" must be 1-128 printable characters'));
        return this.deps.replay.login(link, frame.userId, frame.connId, signal);
    }
  }

  private reply(link: GateLink, rid: number, op: InternalOp, failure: Failure): void {
    link.send({ t: 'res', rid, ok: false, code: failure.code, message: failure.message });
    this.deps.metrics.requests.inc({ op, code: failure.code });
  }

  private logFailure(err: unknown, failure: Failure, link: GateLink, op: InternalOp): void {
    if (failure.code === ErrorCode.INTERNAL) {
      this.deps.log.error({ err, gate: link.gate, op }, 'request failed');
      return;
    }
    // A failover is logged once by StorageHealth, not once per request; a refusal of our own (the
    // node's log-read budget) is counted in imgroup_logic_log_read_admissions_total, not logged.
    if (failure.code !== ErrorCode.UNAVAILABLE || err instanceof ProtocolError || isRetryableRedisError(err)) return;
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_EVERY_MS) return;
    this.lastWarnMs = now;
    this.deps.log.warn({ err, gate: link.gate, op }, 'request failed: Redis unavailable (further failures within 10 s only counted)');
  }

  private ack(link: GateLink, frame: AckNotice): void {
    if (!isValidId(frame.userId) || !isValidId(frame.groupId) || frame.seq < 1) {
      this.deps.metrics.acks.inc({ result: 'ignored' });
      this.deps.log.debug({ gate: link.gate }, 'ack with invalid ids or seq ignored');
      return;
    }
    this.deps.cursors.ack(frame.userId, frame.groupId, frame.seq).then(
      () => this.deps.metrics.acks.inc({ result: 'applied' }),
      (err: unknown) => {
        this.deps.metrics.acks.inc({ result: 'error' });
        if (isRetryableRedisError(err)) {
          this.deps.health.failed(err, 'ack');
          return;
        }
        const now = Date.now();
        if (now - this.lastWarnMs < WARN_EVERY_MS) return;
        this.lastWarnMs = now;
        this.deps.log.warn({ err, gate: link.gate }, 'ack not stored (the client acks again later)');
      },
    );
  }

  /** The gate had no connection for these users: its devices of them are dropped from the cache. */
  private missed(link: GateLink, frame: MissedNotice): void {
    const users = frame.users.filter((u) => isValidId(u));
    this.deps.metrics.missedUsers.inc(users.length);
    this.deps.presence.dropMissed(link.gate, link.boot, users);
    this.deps.log.debug({ gate: link.gate, groupId: frame.groupId, users: users.length }, 'gate had no connection for users (stale presence dropped)');
  }
}

/** The rid of a malformed request, when it has a usable one. */
export function ridOf(text: string): number | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return null;
    const { t, rid } = v as Record<string, unknown>;
    return t === 'req' && typeof rid === 'number' && Number.isSafeInteger(rid) && rid >= 0 ? rid : null;
  } catch {
    return null;
  }
}

function isPowerOfTen(n: number): boolean {
  for (let p = 1; p <= n; p *= 10) if (p === n) return true;
  return false;
}
