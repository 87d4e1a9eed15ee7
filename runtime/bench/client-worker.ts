/**
 * One client worker process of `imgroup bench`: it holds real WebSocket client connections
 * (raw `ws`, one per online member), counts every delivery per (member, group) and its latency,
 * acknowledges cumulatively like runtime/client, sends its senders' quotas, and answers the
 * benchmark's commands (see worker-protocol.ts). Several workers spread the connections so that
 * one process's file limit and one core are not the cap.
 *
 * Server frames are untrusted: anything that is not a protocol v1 frame of ours is counted as a
 * bad frame and otherwise ignored; nothing throws out of a socket handler.
 */
import WebSocket, { type RawData } from 'ws';
import { backoffDelayMs } from '../retry/backoff.js';
import { AckCoalescer, type Ackable } from './ack-coalescer.js';
import { LatencyHistogram } from './latency-histogram.js';
import { LatencyTimeline } from './latency-timeline.js';
import { cpuUsageSeconds } from './process-cpu.js';
import { type BenchPhase, decodeBody, nowMs, PHASES, phaseIndex } from './message-body.js';
import { SendDriver } from './send-driver.js';
import { SeqReceipts, type SeqRange } from './seq-receipts.js';
import type { ConnectResult, ConnectSpec, Progress, SendPlan, TallyReport, WorkerCommand, WorkerMessage, WorkerReport, WorkerSettings } from './worker-protocol.js';

/** Missing ranges listed per (member, group) in a report. */
const MAX_MISSING_RANGES = 100;
/** Failure reasons kept for the error message of a failed connect. */
const MAX_ERRORS = 5;
/** Handshake failures of the network, not of the server's answer: worth another attempt. */
const RETRIED_CONNECT_ERROR = /ECONNRESET|ECONNREFUSED|socket hang up|ETIMEDOUT/;
/** Delays before such a handshake is tried again: 100 ms growing to 2 s. */
const CONNECT_RETRY_BACKOFF = { minMs: 100, maxMs: 2000 };

export interface WorkerIo {
  send(message: WorkerMessage): void;
}

class GroupTally implements Ackable {
  readonly receipts: SeqReceipts;
  acked = 0;

  constructor(
    readonly conn: BenchConnection,
    readonly groupId: string,
    maxSeq: number,
  ) {
    this.receipts = new SeqReceipts(maxSeq);
  }

  get contiguous(): number {
    return this.receipts.contiguous;
  }

  writeAck(seq: number): boolean {
    return this.conn.write(JSON.stringify({ type: 'ack', groupId: this.groupId, seq }));
  }
}

class BenchConnection {
  readonly tallies = new Map<string, GroupTally>();
  welcomed = false;

  constructor(
    readonly userId: string,
    readonly ws: WebSocket,
  ) {}

  write(frame: string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame);
    return true;
  }
}

/**
 * What a phase's deliveries measured. The warm-up records too, into its own record that is never
 * reported: the measured phase then runs the very code (compiled by V8) the warm-up ran, instead
 * of meeting the recording path cold in its first second. For the same reason the receive path
 * has no branch that only one phase takes (phases are array indexes, `firstReceiveAt` a minimum):
 * V8 deoptimizes compiled code the first time it runs an operation it never saw run.
 */
class PhaseRecord {
  readonly latency = new LatencyHistogram();
  /** The same latencies by second of sending: shows whether the tail is a burst. */
  readonly timeline = new LatencyTimeline();
  /** Server `ts` (stored, ms) → receive: the part of the latency after the message was stored. */
  readonly afterStore = new LatencyHistogram();
  /** Infinity until the first delivery. */
  firstReceiveAt = Number.POSITIVE_INFINITY;
  lastReceiveAt: number | null = null;

  record(sentAtMs: number, storedAt: unknown): void {
    const now = nowMs();
    this.latency.record(now - sentAtMs);
    this.timeline.record(sentAtMs, now - sentAtMs);
    if (typeof storedAt === 'number') this.afterStore.record(now - storedAt);
    this.firstReceiveAt = Math.min(this.firstReceiveAt, now);
    this.lastReceiveAt = now;
  }
}

export class ClientWorker {
  private settings: WorkerSettings | null = null;
  private readonly conns = new Map<string, BenchConnection>();
  /** By phase index (PHASES). */
  private readonly records: PhaseRecord[] = PHASES.map(() => new PhaseRecord());
  private readonly delivered: number[] = PHASES.map(() => 0);
  private acks: AckCoalescer | null = null;
  private driver: SendDriver | null = null;
  private progressTimer: ReturnType<typeof setInterval> | null = null;
  private disconnects = 0;
  private badFrames = 0;
  private closing = false;

  constructor(
    private readonly io: WorkerIo,
    private readonly idPrefix: string,
  ) {}

  /** One command from the benchmark. Never throws: a failure is reported as an `error` message. */
  handle(command: WorkerCommand): void {
    this.dispatch(command).catch((err: unknown) => this.io.send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
  }

  private async dispatch(command: WorkerCommand): Promise<void> {
    switch (command.type) {
      case 'init':
        this.settings = command.settings;
        this.acks = new AckCoalescer(command.settings.ackDelayMs);
        this.progressTimer = setInterval(() => this.io.send(this.progress()), command.settings.progressMs);
        this.io.send({ type: 'ready' });
        return;
      case 'connect':
        this.io.send(await this.connectAll(command.connections));
        return;
      case 'send':
        this.io.send(await this.runPhase(command.plan));
        return;
      case 'report':
        this.acks?.flush();
        this.io.send(this.report(command.ranges));
        return;
      case 'cpu':
        this.io.send({ type: 'cpu', cpuSeconds: cpuUsageSeconds(process.cpuUsage()) });
        return;
      case 'close':
        await this.closeAll();
        this.io.send({ type: 'closed' });
        return;
    }
  }

  private get opts(): WorkerSettings {
    if (!this.settings) throw new Error('worker not initialised: send init first');
    return this.settings;
  }

  private progress(): Progress {
    const p = this.driver?.progress ?? { sent: 0, confirmed: 0, failed: 0 };
    let open = 0;
    for (const c of this.conns.values()) if (c.welcomed && c.ws.readyState === WebSocket.OPEN) open++;
    const delivered = Object.fromEntries(PHASES.map((phase, i) => [phase, this.delivered[i] as number])) as Record<BenchPhase, number>;
    return { type: 'progress', delivered, ...p, open };
  }

  // ------------------------------------------------------------------ connecting

  private async connectAll(specs: readonly ConnectSpec[]): Promise<ConnectResult> {
    const result: ConnectResult = { type: 'connected', ok: 0, failed: 0, errors: [] };
    let next = 0;
    const lane = async () => {
      while (next < specs.length) {
        const spec = specs[next++] as ConnectSpec;
        let error = await this.connectOne(spec);
        // A refused or reset handshake (a listen backlog overflowing in a login storm) is tried again, as a client reconnects.
        for (let attempt = 0; error !== null && attempt < this.opts.connectRetries && RETRIED_CONNECT_ERROR.test(error); attempt++) {
          await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, CONNECT_RETRY_BACKOFF)));
          error = await this.connectOne(spec);
        }
        if (error === null) result.ok++;
        else {
          result.failed++;
          if (result.errors.length < MAX_ERRORS) result.errors.push(`${spec.userId}: ${error}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.connectConcurrency, specs.length) }, lane));
    return result;
  }

  /** Open one connection and wait for its welcome; resolves to null or a failure reason. */
  private connectOne(spec: ConnectSpec): Promise<string | null> {
    const o = this.opts;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== null) ws.terminate();
        resolve(error);
      };
      const ws = new WebSocket(spec.url, { perMessageDeflate: false, handshakeTimeout: o.connectTimeoutMs });
      const conn = new BenchConnection(spec.userId, ws);
      for (const g of spec.groupIds) conn.tallies.set(g, new GroupTally(conn, g, o.maxSeq));
      const timer = setTimeout(() => settle(`no welcome after ${o.connectTimeoutMs} ms`), o.connectTimeoutMs);
      ws.on('unexpected-response', (_req, res) => settle(`handshake answered HTTP ${res.statusCode}`));
      ws.on('error', (err) => settle(err.message));
      ws.on('message', (data, isBinary) => {
        if (!conn.welcomed) {
          if (!isBinary && isWelcome(data)) {
            conn.welcomed = true;
            this.conns.set(spec.userId, conn);
            settle(null);
          }
          return;
        }
        this.receive(conn, data, isBinary);
      });
      ws.on('close', (code) => {
        if (!settled) settle(`closed with ${code} before the welcome`);
        else if (conn.welcomed && !this.closing) this.disconnects++;
      });
    });
  }

  // ------------------------------------------------------------------ receiving

  private receive(conn: BenchConnection, data: RawData, isBinary: boolean): void {
    let f: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary');
      f = JSON.parse(String(data)) as Record<string, unknown>;
      if (typeof f !== 'object' || f === null) throw new Error('not an object');
    } catch {
      this.badFrames++;
      return;
    }
    switch (f.type) {
      case 'msg':
        this.onMsg(conn, f);
        return;
      case 'sent':
        if (typeof f.id === 'string' && typeof f.groupId === 'string' && typeof f.seq === 'number') this.driver?.onSent(f.id, f.groupId, f.seq);
        else this.badFrames++;
        return;
      case 'error':
        if (typeof f.id === 'string' && typeof f.code === 'string') this.driver?.onError(f.id, f.code);
        return;
      case 'pong':
      case 'welcome':
        return;
      default:
        this.badFrames++;
    }
  }

  private onMsg(conn: BenchConnection, f: Record<string, unknown>): void {
    const tally = typeof f.groupId === 'string' ? conn.tallies.get(f.groupId) : undefined;
    const seq = f.seq;
    if (!tally || typeof seq !== 'number') {
      this.badFrames++;
      return;
    }
    const before = tally.receipts.contiguous;
    const receipt = tally.receipts.mark(seq);
    if (receipt === 'out-of-range') {
      this.badFrames++;
      return;
    }
    if (receipt === 'duplicate') {
      // The gate sends what the member already has: its cursor is behind, ack again.
      this.acks?.mark(tally, true);
      return;
    }
    if (tally.receipts.contiguous > before) this.acks?.mark(tally);
    const body = decodeBody(f.body);
    if (!body) return;
    (this.delivered[body.phase] as number)++;
    (this.records[body.phase] as PhaseRecord).record(body.sentAtMs, f.ts);
    if (f.from === conn.userId && this.driver?.phaseIndex === body.phase) this.driver.onEcho(conn.userId, tally.groupId);
  }

  // ------------------------------------------------------------------ sending

  private async runPhase(plan: SendPlan): Promise<WorkerMessage> {
    if (this.driver) throw new Error('a send phase is already running');
    const driver = new SendDriver(plan, this.opts, { write: (userId, frame) => this.conns.get(userId)?.write(frame) ?? false }, this.idPrefix);
    this.driver = driver;
    try {
      driver.start();
      return await driver.done;
    } finally {
      driver.stop();
      this.driver = null;
    }
  }

  // ------------------------------------------------------------------ reporting and closing

  private report(ranges: Record<string, SeqRange>): WorkerReport {
    const tallies: TallyReport[] = [];
    let duplicates = 0;
    for (const conn of this.conns.values()) {
      for (const t of conn.tallies.values()) {
        duplicates += t.receipts.duplicates;
        const range = ranges[t.groupId];
        if (!range) continue;
        const [lo, hi] = range;
        const { ranges: missing, truncated } = t.receipts.missingRanges(lo, hi, MAX_MISSING_RANGES);
        tallies.push({ userId: conn.userId, groupId: t.groupId, received: t.receipts.countIn(lo, hi), missing, truncated });
      }
    }
    const m = this.records[phaseIndex('m')] as PhaseRecord;
    return {
      type: 'report',
      tallies,
      duplicates,
      latency: m.latency.snapshot(),
      timeline: m.timeline.snapshot(),
      afterStore: m.afterStore.snapshot(),
      firstReceiveAt: Number.isFinite(m.firstReceiveAt) ? m.firstReceiveAt : null,
      lastReceiveAt: m.lastReceiveAt,
      disconnects: this.disconnects,
      badFrames: this.badFrames,
    };
  }

  private async closeAll(): Promise<void> {
    this.closing = true;
    this.acks?.stop();
    this.driver?.stop();
    if (this.progressTimer) clearInterval(this.progressTimer);
    const closed = [...this.conns.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 2000);
          c.ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          c.ws.close(1000);
        }),
    );
    await Promise.all(closed);
    this.conns.clear();
  }
}

function isWelcome(data: RawData): boolean {
  try {
    const f = JSON.parse(String(data)) as { type?: unknown };
    return f.type === 'welcome';
  } catch {
    return false;
  }
}
