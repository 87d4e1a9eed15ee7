/**
 * What a workload runs against: imgroup (a started or an existing cluster: groups through the
 * admin API, clients authenticated by signed tokens, Redis load from the processes' metrics,
 * cursors from Redis) or the bare `ws` broadcast baseline (baseline-subject.ts: groups handed to
 * the server processes, no metrics, no cursors). The workload itself is the same for both.
 */
import { signToken } from '../auth/token-signer.js';
import { sumSamples } from '../ops/prom-text.js';
import type { BenchTarget } from './bench-target.js';
import { type CursorLookup, redisCursorLookup } from './cursor-reader.js';
import { createGroups } from './group-setup.js';
import type { MetricsSnapshot } from './metrics-scrape.js';
import type { Connection, GroupPlan } from './population.js';
import { type CpuSeconds, metricsCpu, processKindOf, redisCpuSeconds } from './process-cpu.js';

/** What a subject's server processes say about themselves at one moment (start and end of the measured phase). */
export interface SubjectSample {
  /** Cumulative CPU seconds of its server processes, per kind (see process-cpu.ts). */
  cpu: CpuSeconds;
  /** Client connections open on each client-facing process (gate or baseline server), as each counts them; null when not known. */
  connectionsPerServer: number[] | null;
}

export interface RunSubject {
  /** Column title in the report. */
  name: string;
  /** Client endpoints (gates) connections are spread over. */
  endpoints: number;
  /** Make the groups known (before any client connects). */
  setup(groups: readonly GroupPlan[]): Promise<void>;
  /** The WebSocket URL each connection opens, in order. */
  connectUrls(connections: readonly Connection[]): Promise<string[]>;
  /** Ops URLs to scrape around the measured phase (empty: no Redis figures). */
  opsUrls: readonly string[];
  cursors: CursorLookup | null;
  /** Read the server processes; `metrics` is the scrape of `opsUrls` taken at the same moment (null without ops URLs). */
  sample(metrics: MetricsSnapshot | null): Promise<SubjectSample>;
  close(): Promise<void>;
}

const GATE_CONNECTIONS = 'imgroup_gate_connections';

/** Client tokens of a run live long enough for any run. */
const TOKEN_TTL_SECONDS = 24 * 3600;
/** User ids per admin request. */
const ADMIN_CHUNK = 1000;

export function imgroupSubject(target: BenchTarget, name = 'imgroup'): RunSubject {
  return {
    name,
    endpoints: target.clientUrls.length,
    setup: (groups) => createGroups(groups, { adminUrls: target.adminUrls, adminToken: target.adminToken, chunk: ADMIN_CHUNK, concurrency: 4 }),
    connectUrls: (connections) =>
      Promise.all(connections.map(async (c) => `${target.clientUrls[c.endpoint]}?token=${await signToken(target.jwtSecret, c.userId, TOKEN_TTL_SECONDS)}`)),
    opsUrls: target.opsUrls,
    cursors: target.redis ? redisCursorLookup(target.redis) : null,
    sample: async (metrics) => ({
      cpu: { ...metricsCpu(metrics), redis: target.redis ? await redisCpuSeconds(target.redis) : null },
      connectionsPerServer: metrics ? metrics.perTarget.filter((s) => processKindOf(s) === 'gate').map((s) => sumSamples(s, GATE_CONNECTIONS) ?? 0) : null,
    }),
    close: () => target.close(),
  };
}
