/**
 * Messages between the benchmark and its client worker processes (Node IPC, structured clone).
 * The benchmark sends one command at a time and waits for its answer; workers also send
 * `progress` unasked, every `progressMs`.
 */
import type { HistogramSnapshot } from './latency-histogram.js';
import type { TimelineSnapshot } from './latency-timeline.js';
import type { BenchPhase } from './message-body.js';
import type { SeqRange } from './seq-receipts.js';

export interface WorkerSettings {
  /** Acks are coalesced per connection and group for this long, like runtime/client does. */
  ackDelayMs: number;
  /** Connections opened at once while connecting. */
  connectConcurrency: number;
  /** A handshake reset or refused by the network is tried this many times more (a login storm: 5; else 0, so a failing cluster fails the run). */
  connectRetries: number;
  /** A connection without welcome after this long counts as failed. */
  connectTimeoutMs: number;
  /** A send without `sent` reply after this long counts as failed. */
  sendTimeoutMs: number;
  /** Retryable send errors (RATE_LIMITED, UNAVAILABLE) are retried this often at most. */
  sendRetries: number;
  progressMs: number;
  /** Largest seq tracked per group (bounds the receipt bitmaps). */
  maxSeq: number;
}

export interface ConnectSpec {
  userId: string;
  groupIds: string[];
  /** Full WebSocket URL, token included. */
  url: string;
}

export interface SendQuota {
  userId: string;
  groupId: string;
  count: number;
}

export interface SendPlan {
  phase: BenchPhase;
  quotas: SendQuota[];
  /** This worker's share of the rate, messages/s; 0 = as fast as the window allows. */
  ratePerSec: number;
  /** With ratePerSec 0: messages per sender sent but not yet delivered back to it. */
  window: number;
  bodyBytes: number;
}

export type WorkerCommand =
  | { type: 'init'; settings: WorkerSettings }
  | { type: 'connect'; connections: ConnectSpec[] }
  | { type: 'send'; plan: SendPlan }
  | { type: 'report'; ranges: Record<string, SeqRange> }
  | { type: 'cpu' }
  | { type: 'close' };

export interface ConnectResult {
  type: 'connected';
  ok: number;
  failed: number;
  /** A few failure reasons, for the error message. */
  errors: string[];
}

export interface SendResult {
  type: 'sent';
  phase: BenchPhase;
  confirmed: number;
  failed: number;
  /** Send errors by code (retried ones included). */
  errorCodes: Record<string, number>;
  /** Highest seq confirmed per group. */
  maxSeq: Record<string, number>;
  /** First send of the phase, ms since the epoch; null when nothing was sent. */
  firstSendAt: number | null;
}

export interface TallyReport {
  userId: string;
  groupId: string;
  /** Distinct seqs received inside the group's range. */
  received: number;
  missing: SeqRange[];
  truncated: boolean;
}

export interface WorkerReport {
  type: 'report';
  tallies: TallyReport[];
  /** Repeated (member, group, seq) deliveries over the whole run. */
  duplicates: number;
  latency: HistogramSnapshot;
  /** The measured latencies by second of sending. */
  timeline: TimelineSnapshot;
  /** Receive time − the server's `ts` (when the message was stored; whole ms). */
  afterStore: HistogramSnapshot;
  firstReceiveAt: number | null;
  lastReceiveAt: number | null;
  /** Connections that closed during the run. */
  disconnects: number;
  /** Server frames that were not what protocol v1 promises. */
  badFrames: number;
}

export interface Progress {
  type: 'progress';
  /** Distinct deliveries per phase so far. */
  delivered: Record<BenchPhase, number>;
  sent: number;
  confirmed: number;
  failed: number;
  open: number;
}

/** The worker's own CPU time so far (`process.cpuUsage()`, user + system), for CPU per delivery. */
export interface CpuReport {
  type: 'cpu';
  cpuSeconds: number;
}

export type WorkerMessage = ConnectResult | SendResult | WorkerReport | Progress | CpuReport | { type: 'closed' } | { type: 'ready' } | { type: 'error'; message: string };
