/**
 * `imgroup dev` (`make run`): a whole local cluster on loopback — a Redis Cluster formed by our
 * own admin code, logic nodes, gates and a membership file — started as separate processes, as
 * pods would be. Ctrl-C stops everything and removes the temporary data.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '../auth/token-signer.js';
import { specOf } from '../config/options.js';
import { GATE_OPTIONS, GRACE_MARGIN_SECONDS } from '../gate/config.js';
import { buildMembership, serializeMembership } from '../protocol/membership.js';
import type { DevOptions } from './dev-options.js';
import { ImgroupProcess } from './imgroup-process.js';
import { startLocalRedisCluster, type LocalRedisCluster } from './local-redis-cluster.js';

/** The options of `imgroup dev` (dev-options.ts), and what `imgroup bench` adds when it starts a cluster. */
export interface DevClusterOptions extends DevOptions {
  /** Extra environment for every gate and logic process (e.g. `imgroup bench` passes cache and rate settings). */
  extraEnv?: Readonly<Record<string, string>>;
  /**
   * requirepass of the Redis nodes, passed to every process. `imgroup bench` sets one so that a
   * stray process still pointing at a reused port cannot write into its cluster.
   */
  redisPassword?: string;
}

export interface DevCluster {
  dataDir: string;
  jwtSecret: string;
  adminToken: string;
  internalToken: string;
  redis: LocalRedisCluster;
  logic: ImgroupProcess[];
  gates: ImgroupProcess[];
  gateUrls: string[];
  membershipFile: string;
  stop(): Promise<void>;
}

/** Environment for a child: the parent's PATH and HOME, nothing else leaks in implicitly. */
function childEnv(base: Readonly<Record<string, string | undefined>>, extra: Record<string, string>): Record<string, string | undefined> {
  return { PATH: base.PATH, HOME: base.HOME, NODE_OPTIONS: base.NODE_OPTIONS, ...extra };
}

export async function startDevCluster(opts: DevClusterOptions, parentEnv: Readonly<Record<string, string | undefined>>, say: (line: string) => void): Promise<DevCluster> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'imgroup-dev-'));
  mkdirSync(dataDir, { recursive: true });
  const jwtSecret = opts.jwtSecret ?? randomBytes(32).toString('base64url');
  const adminToken = opts.adminToken ?? randomBytes(24).toString('base64url');
  const internalToken = randomBytes(24).toString('base64url');
  const h = opts.host;
  const started: ImgroupProcess[] = [];
  let redis: LocalRedisCluster | undefined;

  // Gates drain before they exit: give them their shutdown timeout (as a pod's grace period does).
  const gateShutdownMs = Number(parentEnv.IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS) || specOf(GATE_OPTIONS, 'shutdownTimeoutMs').default;
  const stop = async (): Promise<void> => {
    await Promise.all(started.filter((p) => p.opts.args[0] === 'gate').map((p) => p.stop(gateShutdownMs + GRACE_MARGIN_SECONDS * 1000)));
    await Promise.all(started.filter((p) => p.opts.args[0] === 'logic').map((p) => p.stop()));
    await redis?.stop();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const tlsDir = opts.redisTlsDir;
    const tls = tlsDir === undefined ? undefined : { certFile: join(tlsDir, 'tls.crt'), keyFile: join(tlsDir, 'tls.key'), caFile: join(tlsDir, 'ca.crt') };
    say(`starting Redis Cluster: ${opts.redisMasters} masters × ${opts.redisReplicas + 1} on ${h}:${opts.redisBasePort}${tls ? ' (TLS only)' : ''}…`);
    redis = await startLocalRedisCluster({
      host: h,
      basePort: opts.redisBasePort,
      masters: opts.redisMasters,
      replicasPerMaster: opts.redisReplicas,
      dir: join(dataDir, 'redis'),
      redisServer: opts.redisServer,
      password: opts.redisPassword,
      tls,
    });
    const seeds = redis.seeds.join(',');
    const common = {
      IMGROUP_MODE: 'development',
      IMGROUP_LOG_LEVEL: opts.logLevel,
      IMGROUP_REDIS_SEEDS: seeds,
      IMGROUP_INTERNAL_TOKEN: internalToken,
      IMGROUP_HEARTBEAT_MS: String(opts.heartbeatMs),
      IMGROUP_OPS_HOST: h,
      ...(opts.redisPassword ? { IMGROUP_REDIS_PASSWORD: opts.redisPassword } : {}),
      ...(tls ? { IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: tls.caFile } : {}),
      ...opts.extraEnv,
    };

    const logic: ImgroupProcess[] = [];
    for (let i = 0; i < opts.logicCount; i++) {
      const name = `logic-${i}`;
      const ops = opts.logicOpsBasePort + i;
      const p = new ImgroupProcess({
        name,
        args: ['logic'],
        env: childEnv(parentEnv, { ...common, IMGROUP_NODE_NAME: name, IMGROUP_LOGIC_HOST: h, IMGROUP_LOGIC_PORT: String(opts.logicBasePort + i), IMGROUP_OPS_PORT: String(ops) }),
        logFile: join(dataDir, `${name}.log`),
        opsUrl: `http://${h}:${ops}`,
        cpuProfDir: opts.cpuProfDir,
      });
      started.push(p);
      logic.push(p);
    }
    await Promise.all(logic.map((p) => p.waitReady()));

    const membershipFile = join(dataDir, 'membership.json');
    const doc = buildMembership(logic.map((_, i) => ({ id: `logic-${i}`, url: `ws://${h}:${opts.logicBasePort + i}` })));
    writeFileSync(membershipFile, serializeMembership(doc));

    const gates: ImgroupProcess[] = [];
    const gateUrls: string[] = [];
    for (let i = 0; i < opts.gateCount; i++) {
      const name = `gate-${i}`;
      const ops = opts.gateOpsBasePort + i;
      const port = opts.gateBasePort + i;
      const p = new ImgroupProcess({
        name,
        args: ['gate'],
        env: childEnv(parentEnv, {
          ...common,
          IMGROUP_NODE_NAME: name,
          IMGROUP_GATE_HOST: h,
          IMGROUP_GATE_PORT: String(port),
          IMGROUP_OPS_PORT: String(ops),
          IMGROUP_JWT_SECRET: jwtSecret,
          IMGROUP_ADMIN_TOKEN: adminToken,
          IMGROUP_MEMBERSHIP_FILE: membershipFile,
        }),
        logFile: join(dataDir, `${name}.log`),
        opsUrl: `http://${h}:${ops}`,
        cpuProfDir: opts.cpuProfDir,
      });
      started.push(p);
      gates.push(p);
      gateUrls.push(`http://${h}:${port}`);
    }
    await Promise.all(gates.map((p) => p.waitReady()));
    return { dataDir, jwtSecret, adminToken, internalToken, redis, logic, gates, gateUrls, membershipFile, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The text `imgroup dev` prints once everything is ready. */
export async function devBanner(c: DevCluster, opts: DevClusterOptions): Promise<string> {
  const token = await signToken(c.jwtSecret, 'alice', 3600);
  const rows: string[][] = [['process', 'endpoint', 'ops (/healthz /readyz /metrics)', 'log']];
  c.gates.forEach((g, i) => rows.push([g.name, `${c.gateUrls[i]?.replace('http', 'ws')}/v1/ws`, g.opts.opsUrl, join(c.dataDir, `${g.name}.log`)]));
  c.logic.forEach((l, i) => rows.push([l.name, `ws://${opts.host}:${opts.logicBasePort + i}/v1/internal`, l.opts.opsUrl, join(c.dataDir, `${l.name}.log`)]));
  c.redis.seeds.forEach((s, i) => rows.push([`redis-${i}`, `${opts.redisTlsDir === undefined ? 'redis' : 'rediss'}://${s}`, '', '']));
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const table = rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ').trimEnd()).join('\n');
  const gate = c.gateUrls[0];
  return [
    '',
    'imgroup dev cluster is ready.',
    '',
    table,
    '',
    `membership file: ${c.membershipFile}`,
    `IMGROUP_JWT_SECRET=${c.jwtSecret}`,
    `IMGROUP_ADMIN_TOKEN=${c.adminToken}`,
    '',
    'Sample token for user "alice" (1 h):',
    `  ${token}`,
    '',
    'Make a group and post to it:',
    `  curl -s -X PUT -H 'Authorization: Bearer ${c.adminToken}' -H 'content-type: application/json' \\`,
    `       -d '{"add":["alice","bob"]}' ${gate}/v1/groups/g1/members`,
    `  curl -s -X POST -H 'Authorization: Bearer ${c.adminToken}' -H 'content-type: application/json' \\`,
    `       -d '{"from":"system","body":"hello"}' ${gate}/v1/groups/g1/messages`,
    '',
    'Connect as alice and send (Node, from this directory):',
    `  node --input-type=module -e "import WebSocket from 'ws'; const ws = new WebSocket('${gate?.replace('http', 'ws')}/v1/ws?token=${token}');`,
    `    ws.on('message', (m) => console.log(String(m))); ws.on('open', () => ws.send(JSON.stringify({type:'send',id:'m1',groupId:'g1',body:'hi'})));"`,
    '',
    'Ctrl-C stops every process and removes the temporary data.',
    '',
  ].join('\n');
}

