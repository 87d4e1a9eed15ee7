/**
 * One gate started in-process with startGate (client port 0) against the shared test Redis
 * Cluster, with its own membership file, secrets and registry; plus small HTTP helpers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { signToken } from '../../../runtime/auth/token-signer.js';
import { type GateOptions, resolveGateOptions } from '../../../runtime/gate/config.js';
import { type GateHandle, startGate } from '../../../runtime/gate/gate-node.js';
import { buildMembership, type MembershipMember, serializeMembership } from '../../../runtime/protocol/membership.js';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';

export interface TestGate {
  gate: GateHandle;
  options: GateOptions;
  registry: Registry;
  store: RedisStore;
  dir: string;
  wsUrl: string;
  httpUrl: string;
  token(userId: string, ttlSeconds?: number): Promise<string>;
  writeMembership(members: readonly MembershipMember[]): void;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export const randomId = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

export async function startTestGate(
  seeds: readonly string[],
  env: Record<string, string> = {},
  members: readonly MembershipMember[] = [],
  opts: { /** The gate's root logger (default: silent, or GATE_TEST_LOG's level). */ log?: Logger } = {},
): Promise<TestGate> {
  const dir = mkdtempSync(join(tmpdir(), 'imgroup-gate-'));
  const membershipFile = join(dir, 'membership.json');
  const writeMembership = (list: readonly MembershipMember[]) => {
    const tmp = `${membershipFile}.tmp`;
    writeFileSync(tmp, serializeMembership(buildMembership(list)));
    renameSync(tmp, membershipFile);
  };
  writeMembership(members);
  const jwtSecret = randomBytes(32).toString('base64url');
  const adminToken = randomBytes(16).toString('base64url');
  const { options } = resolveGateOptions([], {
    IMGROUP_NODE_NAME: randomId('gate'),
    IMGROUP_MEMBERSHIP_FILE: membershipFile,
    IMGROUP_REDIS_SEEDS: seeds.join(','),
    IMGROUP_JWT_SECRET: jwtSecret,
    IMGROUP_ADMIN_TOKEN: adminToken,
    IMGROUP_INTERNAL_TOKEN: 'test-internal-token',
    IMGROUP_GATE_HOST: '127.0.0.1',
    IMGROUP_GATE_PORT: '0',
    IMGROUP_HEARTBEAT_MS: '1000',
    IMGROUP_LOG_LEVEL: 'silent',
    IMGROUP_GATE_DRAIN_WINDOW_MS: '0',
    ...env,
  });
  const registry = new Registry();
  const cluster = createCluster({ seeds, commandTimeoutMs: 2000 });
  cluster.on('error', () => undefined);
  const store = new RedisStore(cluster, createRedisMetrics(registry));
  const log = opts.log ?? pino({ level: process.env.GATE_TEST_LOG ?? 'silent' });
  const gate = await startGate(options, { log, registry, store });
  const httpUrl = `http://127.0.0.1:${gate.port}`;
  return {
    gate,
    options,
    registry,
    store,
    dir,
    wsUrl: `ws://127.0.0.1:${gate.port}/v1/ws`,
    httpUrl,
    token: (userId, ttlSeconds = 3600) => signToken(jwtSecret, userId, ttlSeconds),
    writeMembership,
    metric: async (name, labels = {}) => {
      const m = await registry.getSingleMetric(name)?.get();
      const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String((x.labels as Record<string, unknown>)[k]) === val));
      return v?.value ?? 0;
    },
    admin: async (method, path, body, headers = {}) => {
      const res = await fetch(`${httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    close: async () => {
      await gate.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
