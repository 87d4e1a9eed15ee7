/**
 * The sending side of a client worker for one phase: each sender (an online member) sends its
 * quota of `send` frames, either open-loop at the worker's share of `--rate` (messages go out on
 * schedule, whatever the latency: no coordinated omission), or closed-loop with `--rate 0`: each
 * sender keeps at most `window` messages that have not yet been delivered back to it (a sender
 * is a member, so fan-out brings its own message back), which sends as fast as the whole
 * pipeline — store, fan-out, delivery — allows, without piling up unbounded queues.
 *
 * Retryable errors (RATE_LIMITED, UNAVAILABLE) are re-sent with the same id (sends are
 * idempotent) after a short backoff; other errors, closed connections and sends without reply
 * after `sendTimeoutMs` count as failed. The phase is over when every send is confirmed or failed.
 */
import { backoffDelayMs } from '../retry/backoff.js';
import { type BenchPhase, encodeBody, nowMs, phaseIndex } from './message-body.js';
import type { SendPlan, SendResult, WorkerSettings } from './worker-protocol.js';

/** Delays before a refused send (RETRYABLE) is sent again: 50 ms growing to 1 s. */
const SEND_RETRY_BACKOFF = { minMs: 50, maxMs: 1000 };

export interface SendPort {
  /** Write a text frame on the user's connection; false when it is not open. */
  write(userId: string, frame: string): boolean;
}

interface SenderState {
  userId: string;
  groupId: string;
  remaining: number;
  /** Send times of messages not yet delivered back, oldest first (closed loop only). */
  inFlight: number[];
}

interface PendingSend {
  sender: SenderState;
  frame: string;
  attempts: number;
  sentAt: number;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

/** Open-loop pacing granularity. */
const TICK_MS = 5;
/** How often send timeouts and stale window slots are checked. */
const CHECK_MS = 250;
const RETRYABLE = new Set(['RATE_LIMITED', 'UNAVAILABLE']);

/** Messages an open-loop sender should have issued `elapsedMs` after the start at `ratePerSec`. */
export function dueCount(elapsedMs: number, ratePerSec: number, total: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.min(total, Math.floor((elapsedMs * ratePerSec) / 1000));
}

export class SendDriver {
  private readonly senders: SenderState[];
  private readonly byKey = new Map<string, SenderState>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly total: number;
  private issued = 0;
  private confirmed = 0;
  private failed = 0;
  private cursor = 0;
  private nextId = 0;
  private readonly errorCodes: Record<string, number> = {};
  private readonly maxSeq: Record<string, number> = {};
  private firstSendAt: number | null = null;
  private startedAt = 0;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private checkTimer: ReturnType<typeof setInterval> | null = null;
  private finish: ((r: SendResult) => void) | null = null;
  readonly done: Promise<SendResult>;
  /** The phase's index in PHASES. */
  readonly phaseIndex: number;

  constructor(
    private readonly plan: SendPlan,
    private readonly settings: Pick<WorkerSettings, 'sendTimeoutMs' | 'sendRetries'>,
    private readonly port: SendPort,
    private readonly idPrefix: string,
  ) {
    this.phaseIndex = phaseIndex(plan.phase);
    this.senders = plan.quotas.filter((q) => q.count > 0).map((q) => ({ userId: q.userId, groupId: q.groupId, remaining: q.count, inFlight: [] }));
    for (const s of this.senders) this.byKey.set(`${s.userId}\n${s.groupId}`, s);
    this.total = this.senders.reduce((n, s) => n + s.remaining, 0);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get phase(): BenchPhase {
    return this.plan.phase;
  }

  get progress(): { sent: number; confirmed: number; failed: number } {
    return { sent: this.issued, confirmed: this.confirmed, failed: this.failed };
  }

  start(): void {
    this.startedAt = nowMs();
    this.checkTimer = setInterval(() => this.check(), CHECK_MS);
    if (this.plan.ratePerSec > 0) {
      this.tickTimer = setInterval(() => this.tick(), TICK_MS);
      this.tick();
    } else {
      for (const s of this.senders) this.fill(s);
    }
    this.settleIfDone();
  }

  /** A `sent` reply. */
  onSent(id: string, groupId: string, seq: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.retryTimer) clearTimeout(p.retryTimer);
    this.confirmed++;
    if (seq > (this.maxSeq[groupId] ?? 0)) this.maxSeq[groupId] = seq;
    this.settleIfDone();
  }

  /** An `error` reply naming a send of ours. */
  onError(id: string, code: string): void {
    const p = this.pending.get(id);
    if (!p || p.retryTimer) return;
    this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
    if (RETRYABLE.has(code) && p.attempts <= this.settings.sendRetries) {
      const delay = backoffDelayMs(p.attempts - 1, SEND_RETRY_BACKOFF);
      p.retryTimer = setTimeout(() => {
        p.retryTimer = null;
        p.attempts++;
        p.sentAt = nowMs();
        if (!this.port.write(p.sender.userId, p.frame)) this.fail(id, p, 'CLOSED');
      }, delay);
      return;
    }
    this.fail(id, p, null);
  }

  /** A message from `userId` was delivered back to `userId`'s own connection. */
  onEcho(userId: string, groupId: string): void {
    if (this.plan.ratePerSec > 0) return;
    const s = this.byKey.get(`${userId}\n${groupId}`);
    if (!s || s.inFlight.length === 0) return;
    s.inFlight.shift();
    this.fill(s);
  }

  stop(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.tickTimer = this.checkTimer = null;
    for (const p of this.pending.values()) if (p.retryTimer) clearTimeout(p.retryTimer);
  }

  private tick(): void {
    const due = dueCount(nowMs() - this.startedAt, this.plan.ratePerSec, this.total) - this.issued;
    for (let i = 0; i < due; i++) {
      const s = this.nextSender();
      if (!s) break;
      this.sendOne(s);
    }
    if (this.issued >= this.total && this.tickTimer) {
      clearInterval(this.tickTimer);
      this.tickTimer = null;
    }
  }

  /** Round robin over senders with quota left. */
  private nextSender(): SenderState | null {
    for (let n = 0; n < this.senders.length; n++) {
      const s = this.senders[this.cursor++ % this.senders.length] as SenderState;
      if (s.remaining > 0) return s;
    }
    return null;
  }

  private fill(s: SenderState): void {
    while (s.remaining > 0 && s.inFlight.length < this.plan.window) this.sendOne(s);
  }

  private sendOne(s: SenderState): void {
    s.remaining--;
    this.issued++;
    const at = nowMs();
    this.firstSendAt ??= at;
    if (this.plan.ratePerSec === 0) s.inFlight.push(at);
    const id = `${this.idPrefix}${this.plan.phase}${this.nextId++}`;
    const frame = JSON.stringify({ type: 'send', id, groupId: s.groupId, body: encodeBody(this.plan.phase, at, this.plan.bodyBytes) });
    const p: PendingSend = { sender: s, frame, attempts: 1, sentAt: at, retryTimer: null };
    this.pending.set(id, p);
    if (!this.port.write(s.userId, frame)) this.fail(id, p, 'CLOSED');
  }

  private fail(id: string, p: PendingSend, code: string | null): void {
    if (!this.pending.delete(id)) return;
    if (p.retryTimer) clearTimeout(p.retryTimer);
    if (code) this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
    this.failed++;
    // A message that never got stored is never delivered back: free its window slot.
    if (this.plan.ratePerSec === 0 && p.sender.inFlight.length > 0) {
      p.sender.inFlight.shift();
      queueMicrotask(() => this.fill(p.sender));
    }
    this.settleIfDone();
  }

  /** Time out sends without reply; free window slots whose message never came back. */
  private check(): void {
    const now = nowMs();
    const limit = this.settings.sendTimeoutMs;
    for (const [id, p] of this.pending) if (!p.retryTimer && now - p.sentAt > limit) this.fail(id, p, 'TIMEOUT');
    if (this.plan.ratePerSec > 0) return;
    for (const s of this.senders) {
      let freed = false;
      while (s.inFlight.length > 0 && now - (s.inFlight[0] as number) > limit) {
        s.inFlight.shift();
        freed = true;
      }
      if (freed) this.fill(s);
    }
  }

  private settleIfDone(): void {
    if (this.issued < this.total || this.pending.size > 0 || !this.finish) return;
    const finish = this.finish;
    this.finish = null;
    this.stop();
    finish({
      type: 'sent',
      phase: this.plan.phase,
      confirmed: this.confirmed,
      failed: this.failed,
      errorCodes: { ...this.errorCodes },
      maxSeq: { ...this.maxSeq },
      firstSendAt: this.firstSendAt,
    });
  }
}
