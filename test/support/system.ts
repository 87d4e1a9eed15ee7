/**
 * A whole imgroup system for end-to-end tests: real `imgroup logic` and `imgroup gate` processes
 * (started from bin/imgroup.js exactly as a pod would start them: flags and environment only),
 * a membership file, against the shared test Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { signToken } from '../../runtime/auth/token-signer.js';
import { ImgroupProcess } from '../../runtime/dev/imgroup-process.js';
import { buildMembership, serializeMembership } from '../../runtime/protocol/membership.js';
import { getFreePorts } from './free-ports.js';
import { RawClient } from './raw-client.js';

export interface NodeHandle {
  name: string;
  process: ImgroupProcess;
  port: number;
  opsPort: number;
  opsUrl: string;
}

export interface GateHandle extends NodeHandle {
  httpUrl: string;
  wsUrl: string;
}

export interface LogicHandle extends NodeHandle {
  internalUrl: string;
}

export interface SystemOptions {
  redisSeeds: readonly string[];
  logic?: number;
  gates?: number;
  heartbeatMs?: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  logLevel?: string;
}

export class TestSystem {
  readonly dir = mkdtempSync(join(tmpdir(), 'imgroup-e2e-'));
  readonly jwtSecret = randomBytes(32).toString('base64url');
  readonly adminToken = randomBytes(16).toString('base64url');
  readonly internalToken = randomBytes(16).toString('base64url');
  readonly membershipFile = join(this.dir, 'membership.json');
  readonly logic: LogicHandle[] = [];
  readonly gates: GateHandle[] = [];
  private readonly sockets = new Set<WebSocket>();

  constructor(readonly opts: SystemOptions) {}

  private env(extra: Record<string, string>): Record<string, string | undefined> {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      IMGROUP_MODE: 'development',
      IMGROUP_LOG_LEVEL: this.opts.logLevel ?? 'info',
      IMGROUP_REDIS_SEEDS: this.opts.redisSeeds.join(','),
      IMGROUP_INTERNAL_TOKEN: this.internalToken,
      IMGROUP_HEARTBEAT_MS: String(this.opts.heartbeatMs ?? 1000),
      IMGROUP_OPS_HOST: '127.0.0.1',
      // Gates close their clients at once on SIGTERM unless a test sets a drain window.
      IMGROUP_GATE_DRAIN_WINDOW_MS: '0',
      ...this.opts.env,
      ...extra,
    };
  }

  async startLogic(name: string, extraEnv: Record<string, string> = {}): Promise<LogicHandle> {
    const [port, opsPort] = (await getFreePorts(2)) as [number, number];
    const process = new ImgroupProcess({
      name,
      args: ['logic'],
      env: this.env({ IMGROUP_NODE_NAME: name, IMGROUP_LOGIC_HOST: '127.0.0.1', IMGROUP_LOGIC_PORT: String(port), IMGROUP_OPS_PORT: String(opsPort), ...extraEnv }),
      logFile: join(this.dir, `${name}.log`),
      opsUrl: `http://127.0.0.1:${opsPort}`,
    });
    const handle: LogicHandle = { name, process, port, opsPort, opsUrl: process.opts.opsUrl, internalUrl: `ws://127.0.0.1:${port}` };
    this.logic.push(handle);
    await process.waitReady();
    return handle;
  }

  /** `extraEnv` is for this process only (after the system's own `env`). */
  async startGate(name: string, extraEnv: Record<string, string> = {}): Promise<GateHandle> {
    const [port, opsPort] = (await getFreePorts(2)) as [number, number];
    const process = new ImgroupProcess({
      name,
      args: ['gate'],
      env: this.env({
        IMGROUP_NODE_NAME: name,
        IMGROUP_GATE_HOST: '127.0.0.1',
        IMGROUP_GATE_PORT: String(port),
        IMGROUP_OPS_PORT: String(opsPort),
        IMGROUP_JWT_SECRET: this.jwtSecret,
        IMGROUP_ADMIN_TOKEN: this.adminToken,
        IMGROUP_MEMBERSHIP_FILE: this.membershipFile,
        ...extraEnv,
      }),
      logFile: join(this.dir, `${name}.log`),
      opsUrl: `http://127.0.0.1:${opsPort}`,
    });
    const handle: GateHandle = {
      name,
      process,
      port,
      opsPort,
      opsUrl: process.opts.opsUrl,
      httpUrl: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    };
    this.gates.push(handle);
    await process.waitReady();
    return handle;
  }

  /** Write the membership file atomically (write + rename), as a ConfigMap volume update does. */
  writeMembership(members: ReadonlyArray<Pick<LogicHandle, 'name' | 'internalUrl'>>): string {
    const doc = buildMembership(members.map((l) => ({ id: l.name, url: l.internalUrl })));
    const tmp = `${this.membershipFile}.tmp`;
    writeFileSync(tmp, serializeMembership(doc));
    renameSync(tmp, this.membershipFile);
    return doc.version;
  }

  /** Start every process; if any fails to become ready, stop those already started and rethrow. */
  async start(): Promise<this> {
    const logicCount = this.opts.logic ?? 2;
    const gateCount = this.opts.gates ?? 2;
    try {
      await Promise.all(Array.from({ length: logicCount }, (_, i) => this.startLogic(`logic-${i}`)));
      this.writeMembership(this.logic);
      await Promise.all(Array.from({ length: gateCount }, (_, i) => this.startGate(`gate-${i}`)));
      return this;
    } catch (err) {
      process.env.IMGROUP_KEEP_TEST_LOGS ??= '1'; // keep the logs of a failed start for the error report
      await this.stop();
      throw new Error(`${(err as Error).message} (logs in ${this.dir})`);
    }
  }

  token(userId: string, ttlSeconds = 3600): Promise<string> {
    return signToken(this.jwtSecret, userId, ttlSeconds);
  }

  /** Call the admin API of a gate. */
  async admin(method: string, path: string, body?: unknown, gate = 0): Promise<{ status: number; body: any }> {
    const g = this.gates[gate] as GateHandle;
    const res = await fetch(`${g.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    const r = await this.admin('PUT', `/v1/groups/${groupId}/members`, { add: userIds });
    if (r.status !== 200) throw new Error(`adding members failed: ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** Track a raw socket so stop() closes it. */
  track(ws: WebSocket): WebSocket {
    this.sockets.add(ws);
    ws.once('close', () => this.sockets.delete(ws));
    return ws;
  }

  /** Stop (SIGTERM) and start a gate again on the same ports, as a restarted pod would be. */
  async restartGate(handle: GateHandle): Promise<void> {
    await handle.process.stop();
    handle.process = new ImgroupProcess({ ...handle.process.opts, name: handle.name });
    await handle.process.waitReady();
  }

  /** A raw WebSocket client of `userId` on gate `gate`, welcomed, and closed by stop(). */
  async connect(userId: string, gate = 0): Promise<RawClient> {
    const c = await RawClient.connect(this.gates[gate]!.wsUrl, await this.token(userId));
    this.track(c.ws);
    return c;
  }

  /**
   * Change-notice channels logic node `i` reported subscribed in its log (one line per subscriber
   * connection): until all are, its session cache drops what it fills (notices may be missed).
   */
  subscribedChannels(i = 0): number {
    const log = readFileSync(join(this.dir, `logic-${i}.log`), 'utf8');
    let n = 0;
    for (const line of log.split('\n')) {
      if (!line.includes('session cache invalidation subscribed')) continue;
      n += (JSON.parse(line) as { channels: number }).channels;
    }
    return n;
  }

  async metrics(handle: NodeHandle): Promise<string> {
    return (await fetch(`${handle.opsUrl}/metrics`)).text();
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await Promise.all(this.gates.map((g) => g.process.stop(5000)));
    await Promise.all(this.logic.map((l) => l.process.stop(5000)));
    if (process.env.IMGROUP_KEEP_TEST_LOGS) return;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sum of a metric's samples in Prometheus text output (optionally only series matching `labels`). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
