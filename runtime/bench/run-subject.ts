/**
 * What a workload runs against: imgroup (a started or an existing cluster: groups through the
 * admin API, clients authenticated by signed tokens, Redis load from the processes' metrics,
 * cursors from Redis) or the bare `ws` broadcast baseline (groups handed to the server process,
 * no metrics, no cursors). The workload itself is the same for both.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { signToken } from '../auth/token-signer.js';
import type { BenchTarget } from './bench-target.js';
import type { BroadcastCommand, BroadcastReply } from './broadcast-server.js';
import { type CursorLookup, redisCursorLookup } from './cursor-reader.js';
import { forkedModulePath } from './forked-module.js';
import { createGroups } from './group-setup.js';
import type { Connection, GroupPlan } from './population.js';

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
  close(): Promise<void>;
}

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
    close: () => target.close(),
  };
}

const HOST = '127.0.0.1';

/** The bare `ws` broadcast server, in a process of its own (as a gate would be). */
export function baselineSubject(maxPayloadBytes: number): RunSubject {
  let child: ChildProcess | null = null;
  let url = '';
  return {
    name: 'ws baseline',
    endpoints: 1,
    setup: async (groups) => {
      const proc = fork(forkedModulePath('broadcast-server-main'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
      child = proc;
      const reply = await new Promise<BroadcastReply>((resolve, reject) => {
        proc.once('message', (m) => resolve(m as BroadcastReply));
        proc.once('exit', (code) => reject(new Error(`baseline server exited (code ${code}) before listening`)));
        const command: BroadcastCommand = { type: 'start', host: HOST, groups: Object.fromEntries(groups.map((g) => [g.groupId, g.online])), maxPayloadBytes };
        proc.send(command);
      });
      if (reply.type !== 'listening') throw new Error(`baseline server failed: ${reply.message}`);
      url = `ws://${HOST}:${reply.port}/`;
    },
    connectUrls: async (connections) => connections.map((c) => `${url}?user=${encodeURIComponent(c.userId)}`),
    opsUrls: [],
    cursors: null,
    close: async () => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      if (proc.connected) proc.disconnect();
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}
