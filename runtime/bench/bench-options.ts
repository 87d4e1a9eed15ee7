/**
 * Options of `imgroup bench`, described once (the README table is generated from them), and the
 * typed, cross-checked BenchOptions the benchmark runs with. Contradictions are rejected before
 * anything starts, naming the flags involved.
 */
import { boolOption, ConfigError, intOption, listOption, type OptionValues, resolveOptions, secretOption, specOf, stringOption } from '../config/options.js';
import { GATE_ONLY_OPTIONS } from '../gate/config.js';
import { LOGIC_OWN_OPTIONS } from '../logic/config.js';
import { MIN_BODY_BYTES } from './message-body.js';
import { onlineCount } from './population.js';

const logicSessionTtl = specOf(LOGIC_OWN_OPTIONS, 'sessionTtlMs');
const logicMinReplicasAck = specOf(LOGIC_OWN_OPTIONS, 'minReplicasAck');

export const BENCH_OPTIONS = [
  intOption({ key: 'groupSize', env: 'IMGROUP_BENCH_GROUP_SIZE', flag: 'group-size', default: 1000, min: 1, max: 1_000_000, doc: 'Members per group (fresh users, created through the admin API).' }),
  intOption({ key: 'groups', env: 'IMGROUP_BENCH_GROUPS', flag: 'groups', default: 1, min: 1, max: 100_000, doc: 'Groups; every group gets its own members.' }),
  stringOption({ key: 'online', env: 'IMGROUP_BENCH_ONLINE', flag: 'online', default: '0.5', doc: 'Fraction of each group that connects (0 < f ≤ 1, e.g. `0.5`); the rest are offline members.' }),
  intOption({ key: 'messages', env: 'IMGROUP_BENCH_MESSAGES', flag: 'messages', default: 5000, min: 1, max: 100_000_000, doc: 'Measured messages, spread evenly over groups and their senders.' }),
  intOption({ key: 'warmup', env: 'IMGROUP_BENCH_WARMUP', flag: 'warmup', default: 20, min: 0, max: 10_000_000, doc: 'Messages sent (and delivered, and acknowledged) before the measured phase and not counted: they warm caches and connections.' }),
  intOption({ key: 'warmupSeconds', env: 'IMGROUP_BENCH_WARMUP_SECONDS', flag: 'warmup-seconds', default: 10, min: 0, max: 3600, doc: 'With `--rate`: the warm-up lasts at least this long (`--rate` × this many messages when that is more than `--warmup`), so that V8 has compiled the hot paths of every process before the measured phase; 0: `--warmup` messages only.' }),
  intOption({ key: 'rate', env: 'IMGROUP_BENCH_RATE', flag: 'rate', default: 0, min: 0, max: 10_000_000, doc: 'Messages per second over all senders (open loop); 0 = as fast as possible (closed loop, see `--window`).' }),
  intOption({ key: 'window', env: 'IMGROUP_BENCH_WINDOW', flag: 'window', default: 8, min: 1, max: 100_000, doc: 'With `--rate 0`: messages per sender sent but not yet delivered back to it.' }),
  intOption({ key: 'senders', env: 'IMGROUP_BENCH_SENDERS', flag: 'senders', default: 10, min: 1, max: 1_000_000, doc: 'Senders per group (online members); at most the online members of a group.' }),
  intOption({ key: 'bodyBytes', env: 'IMGROUP_BENCH_BODY_BYTES', flag: 'body-bytes', default: 100, min: MIN_BODY_BYTES, max: specOf(GATE_ONLY_OPTIONS, 'maxBodyBytes').default, doc: 'Message body size in bytes (it carries the send time); at most the gates’ default body limit.' }),
  intOption({ key: 'workers', env: 'IMGROUP_BENCH_WORKERS', flag: 'workers', default: 2, min: 1, max: 256, doc: 'Client worker processes that hold the WebSocket connections.' }),
  intOption({ key: 'gates', env: 'IMGROUP_BENCH_GATES', flag: 'gates', default: 2, min: 1, max: 64, doc: 'Gates of the cluster the benchmark starts (not with `--target`).' }),
  intOption({ key: 'logic', env: 'IMGROUP_BENCH_LOGIC', flag: 'logic', default: 2, min: 1, max: 64, doc: 'Logic nodes of the cluster the benchmark starts (not with `--target`).' }),
  intOption({ key: 'redisMasters', env: 'IMGROUP_BENCH_REDIS_MASTERS', flag: 'redis-masters', default: 3, min: 3, max: 32, doc: 'Redis masters of the cluster the benchmark starts.' }),
  intOption({ key: 'redisReplicas', env: 'IMGROUP_BENCH_REDIS_REPLICAS', flag: 'redis-replicas', default: 0, min: 0, max: 4, doc: 'Replicas per Redis master of the cluster the benchmark starts (replication does not change commands per message; it costs CPU on a small machine).' }),
  intOption({ key: 'sessionTtlMs', env: 'IMGROUP_SESSION_TTL_MS', flag: 'session-ttl-ms', min: logicSessionTtl.min, max: logicSessionTtl.max, doc: 'Passed to the logic nodes the benchmark starts (presence session cache TTL; 0 disables the cache). Default: the logic default.' }),
  stringOption({ key: 'sessionInvalidation', env: 'IMGROUP_SESSION_INVALIDATION', flag: 'session-invalidation', choices: ['true', 'false'], doc: 'Passed to the logic nodes the benchmark starts (cache invalidation by presence notifications). Default: the logic default.' }),
  intOption({ key: 'minReplicasAck', env: 'IMGROUP_REDIS_MIN_REPLICAS_ACK', flag: 'min-replicas-ack', min: logicMinReplicasAck.min, max: logicMinReplicasAck.max, doc: 'Passed to the logic nodes the benchmark starts: replicas that must acknowledge each append (WAIT) before `sent`; at most `--redis-replicas`. Default: the logic default (0).' }),
  boolOption({ key: 'compareCache', env: 'IMGROUP_BENCH_COMPARE_CACHE', flag: 'compare-cache', default: false, doc: 'Run the workload twice, session cache off (TTL 0) and on (`--session-ttl-ms`, or the logic default), and show both side by side.' }),
  boolOption({ key: 'baseline', env: 'IMGROUP_BENCH_BASELINE', flag: 'baseline', default: false, doc: 'Also run the workload against bare `ws` broadcast servers, one process per gate (`--gates`, or per `--target` URL), with the clients split over them as over the gates and the same message size; show imgroup’s deliveries/s as a fraction of theirs and the p99 ratio (with `--rate`, both at that offered rate).' }),
  intOption({ key: 'rounds', env: 'IMGROUP_BENCH_ROUNDS', flag: 'rounds', default: 1, min: 1, max: 99, doc: 'With `--baseline`: run imgroup and the baseline this many times, alternating (imgroup, baseline, imgroup, …), and report the round with the median p99 ratio, every round’s p99s and ratio listed. One run’s ratio swings with whatever else the machine does in its minute; the median of alternating rounds does not.' }),
  intOption({ key: 'idle', env: 'IMGROUP_BENCH_IDLE', flag: 'idle', default: 0, min: 0, max: 10_000_000, doc: 'Instead of messaging: connect this many idle authenticated connections to one gate and report its memory per connection.' }),
  // ---- issue 13 §3: the login storm and the workload suite (runtime/bench/login-storm.ts, suite-*.ts)
  boolOption({ key: 'loginStorm', env: 'IMGROUP_BENCH_LOGIN_STORM', flag: 'login-storm', default: false, doc: 'Instead of the message workload, a login storm: in each of `--groups` groups the `--senders` (connected) send `--storm-backlog` messages while the other members are offline; then all those members connect at once. Reports the time until every one of them holds every message (login replay), peak Redis memory and the Redis commands of the storm.' }),
  intOption({ key: 'stormBacklog', env: 'IMGROUP_BENCH_STORM_BACKLOG', flag: 'storm-backlog', default: 200, min: 1, max: specOf(LOGIC_OWN_OPTIONS, 'replayLimit').default, doc: 'With `--login-storm`: messages per group sent while its members are offline, all unacknowledged when they connect; at most the logic nodes’ default replay limit per group (the benchmark’s clients do not sync the rest).' }),
  boolOption({ key: 'suite', env: 'IMGROUP_BENCH_SUITE', flag: 'suite', default: false, doc: 'Run the workload suite against one cluster and print one table, a column per workload (with `--json`: one JSON object per workload and line): many small groups, the largest group, a login storm, the 1,000-member group at its maximum rate, at half and at a quarter of it, and `--idle 10000`. It sets each workload’s groups, members, messages and rate itself; the cluster flags apply.' }),
  stringOption({ key: 'suiteScale', env: 'IMGROUP_BENCH_SUITE_SCALE', flag: 'suite-scale', default: '1', doc: 'With `--suite`: scale every workload’s groups (or group size), messages and idle connections by this fraction (0 < f ≤ 1, e.g. `0.05` for a quick check).' }),
  // ---- end of issue 13 §3 options
  boolOption({ key: 'json', env: 'IMGROUP_BENCH_JSON', flag: 'json', default: false, doc: 'Print one JSON object instead of the table (no progress output).' }),
  intOption({ key: 'settleMs', env: 'IMGROUP_BENCH_SETTLE_MS', flag: 'settle-ms', default: 2500, min: 0, max: 600_000, doc: 'Wait after the last delivery before reading metrics, so coalesced acks and cursor writes (flushed about every second) are counted.' }),
  intOption({ key: 'drainTimeoutMs', env: 'IMGROUP_BENCH_DRAIN_TIMEOUT_MS', flag: 'drain-timeout-ms', default: 15_000, min: 100, max: 3_600_000, doc: 'Stop waiting for missing deliveries after this long without progress.' }),
  intOption({ key: 'ackDelayMs', env: 'IMGROUP_BENCH_ACK_DELAY_MS', flag: 'ack-delay-ms', default: 100, min: 0, max: 60_000, doc: 'Clients coalesce acks per group for this long (as runtime/client does by default).' }),
  intOption({ key: 'connectConcurrency', env: 'IMGROUP_BENCH_CONNECT_CONCURRENCY', flag: 'connect-concurrency', default: 100, min: 1, max: 100_000, doc: 'Handshakes in flight per client worker while connecting.' }),
  listOption({ key: 'target', env: 'IMGROUP_BENCH_TARGET', flag: 'target', doc: 'Comma-separated gate URLs (`http://host:port`) of an existing cluster to benchmark instead of starting one; needs `--admin-token` and `--jwt-secret`.' }),
  listOption({ key: 'metrics', env: 'IMGROUP_BENCH_METRICS', flag: 'metrics', doc: 'With `--target`: ops URLs (`http://host:port`) of every gate and logic node, scraped for Redis load and CPU per delivery (with `--idle`: the first one is the gate’s).' }),
  secretOption({ key: 'adminToken', env: 'IMGROUP_ADMIN_TOKEN', flag: 'admin-token', doc: 'With `--target`: the admin API token of the gates.' }),
  secretOption({ key: 'jwtSecret', env: 'IMGROUP_JWT_SECRET', flag: 'jwt-secret', doc: 'With `--target`: the secret the gates verify client tokens with.' }),
  listOption({ key: 'redisSeeds', env: 'IMGROUP_BENCH_REDIS_SEEDS', flag: 'redis-seeds', doc: 'With `--target`: Redis Cluster seeds, to read cursors for the lost-message check (without them every missing delivery counts as lost) and the Redis servers’ CPU (`INFO cpu`; without them Redis CPU is not reported).' }),
  secretOption({ key: 'redisPassword', env: 'IMGROUP_REDIS_PASSWORD', flag: 'redis-password', doc: 'With `--target` and `--redis-seeds`: the Redis password, if any.' }),
  stringOption({ key: 'redisServer', env: 'IMGROUP_REDIS_SERVER', flag: 'redis-server', default: 'redis-server', doc: 'redis-server binary for the cluster the benchmark starts.' }),
  stringOption({ key: 'cpuProfDir', env: 'IMGROUP_CPU_PROF_DIR', flag: 'cpu-prof-dir', doc: 'Run every process of the benchmark but itself with `node --cpu-prof` (the gates and logic nodes of the cluster it starts, its client workers, the baseline servers), writing their V8 CPU profiles here when they exit. Default: no profiling.' }),
  stringOption({ key: 'dataDir', env: 'IMGROUP_BENCH_DATA_DIR', flag: 'data-dir', doc: 'Keep the started cluster’s logs here (default: a temporary directory, removed afterwards).' }),
] as const;

/** The benchmark's options, typed from BENCH_OPTIONS: `--online` parsed, absent lists empty. */
export type BenchOptions = Omit<OptionValues<typeof BENCH_OPTIONS>, 'online' | 'suiteScale' | 'metrics' | 'redisSeeds'> & { online: number; suiteScale: number; metrics: string[]; redisSeeds: string[] };

/** Parse a decimal fraction, 0 < f ≤ 1 (`--online`, `--suite-scale`). */
/** Warm-up messages of a run: `--warmup`, or at a fixed rate enough for `--warmup-seconds`. */
export function warmupMessages(o: Pick<BenchOptions, 'warmup' | 'warmupSeconds' | 'rate'>): number {
  return o.rate > 0 ? Math.max(o.warmup, Math.ceil(o.rate * o.warmupSeconds)) : o.warmup;
}

export function parseFraction(text: string, where = '--online (IMGROUP_BENCH_ONLINE)'): number {
  const t = text.trim();
  const n = /^(0|1)?(\.\d+)?$/.test(t) && t !== '' && t !== '.' ? Number(t) : NaN;
  if (!(n > 0 && n <= 1)) throw new ConfigError(`${where}: ${JSON.stringify(text)} is not a fraction above 0 and at most 1 (e.g. 0.5)`);
  return n;
}

function checkUrls(list: readonly string[], flag: string): void {
  for (const url of list) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`${flag}: ${JSON.stringify(url)} is not a URL; give http://host:port`);
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new ConfigError(`${flag}: ${JSON.stringify(url)} must be http(s):// or ws(s)://`);
  }
}

/** Resolve and cross-check; throws ConfigError naming the flags. Pure: reads only its arguments. */
export function resolveBenchOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BenchOptions {
  const { options: raw, positionals } = resolveOptions(BENCH_OPTIONS, argv, env);
  if (positionals.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}: imgroup bench takes only --flags`);
  const o: BenchOptions = {
    ...raw,
    online: parseFraction(raw.online),
    suiteScale: parseFraction(raw.suiteScale, '--suite-scale (IMGROUP_BENCH_SUITE_SCALE)'),
    metrics: raw.metrics ?? [],
    redisSeeds: raw.redisSeeds ?? [],
    target: raw.target === undefined || raw.target.length === 0 ? undefined : raw.target,
  };
  checkBenchOptions(o);
  return o;
}

/** Rules between options. */
export function checkBenchOptions(o: BenchOptions): void {
  if (o.target) {
    checkUrls(o.target, '--target');
    checkUrls(o.metrics, '--metrics');
    if (!o.adminToken && o.idle === 0) throw new ConfigError('--target needs --admin-token (IMGROUP_ADMIN_TOKEN): the benchmark creates its groups through the admin API');
    if (!o.jwtSecret) throw new ConfigError('--target needs --jwt-secret (IMGROUP_JWT_SECRET): the benchmark signs its clients’ tokens');
    if (o.compareCache) throw new ConfigError('--compare-cache restarts logic nodes with another cache TTL, which only works on a cluster the benchmark starts: drop --target');
    if (o.sessionTtlMs !== undefined || o.sessionInvalidation !== undefined) {
      throw new ConfigError('--session-ttl-ms and --session-invalidation configure logic nodes the benchmark starts; with --target, configure your logic nodes instead');
    }
    if (o.minReplicasAck !== undefined) throw new ConfigError('--min-replicas-ack configures logic nodes the benchmark starts; with --target, set IMGROUP_REDIS_MIN_REPLICAS_ACK on your logic nodes instead');
    if (o.idle > 0 && o.metrics.length === 0) throw new ConfigError('--idle with --target needs --metrics <ops URL of the first --target gate> to read its memory');
  } else if (o.metrics.length > 0 || o.redisSeeds.length > 0) {
    throw new ConfigError('--metrics and --redis-seeds describe an existing cluster: use them with --target');
  }
  if (!o.target && o.minReplicasAck !== undefined && o.minReplicasAck > o.redisReplicas) {
    throw new ConfigError(`--min-replicas-ack (${o.minReplicasAck}) is more than --redis-replicas (${o.redisReplicas}): no send could ever be acknowledged by that many replicas`);
  }
  if (o.rounds > 1 && (!o.baseline || o.compareCache)) throw new ConfigError('--rounds alternates imgroup and the baseline: give it with --baseline (and without --compare-cache)');
  if (o.idle > 0) {
    if (o.compareCache || o.baseline) throw new ConfigError('--idle measures memory per idle connection; it cannot be combined with --compare-cache or --baseline');
  }
  if (checkSuiteOptions(o) === 'done' || o.idle > 0) return;
  const online = onlineCount(o.groupSize, o.online);
  if (o.senders > online) {
    throw new ConfigError(`--senders (${o.senders}) is more than the online members of a group (${online} = --online ${o.online} × --group-size ${o.groupSize})`);
  }
  if (o.messages < o.groups) {
    throw new ConfigError(`--messages (${o.messages}) is fewer than --groups (${o.groups}): every group needs at least one message`);
  }
  checkConnectionsPerWorker(onlineCount(o.groupSize, o.online) * o.groups, o.workers);
  if (o.compareCache && o.sessionTtlMs === 0) throw new ConfigError('--compare-cache compares TTL 0 with a cache that is on: give --session-ttl-ms above 0 (or leave it out)');
}

// ---- issue 13 §3: rules of --login-storm and --suite

/**
 * WebSocket connections one client worker may hold: each is a file descriptor, and a process
 * may open 20,000 here (`ulimit -n`); the rest is left for the worker's own files and pipes.
 */
export const MAX_CONNECTIONS_PER_WORKER = 16_000;

/** Reject a workload whose connections would not fit the client workers' open-file limit. */
export function checkConnectionsPerWorker(connections: number, workers: number): void {
  const per = Math.ceil(connections / workers);
  if (per > MAX_CONNECTIONS_PER_WORKER) {
    throw new ConfigError(`${connections} connections over --workers ${workers} is ${per} per client worker, above ${MAX_CONNECTIONS_PER_WORKER} (each is an open file): raise --workers to at least ${Math.ceil(connections / MAX_CONNECTIONS_PER_WORKER)}`);
  }
}

/** The --suite and --login-storm rules; 'done' when nothing else applies (the suite sets its own workloads). */
function checkSuiteOptions(o: BenchOptions): 'done' | 'more' {
  if (o.suiteScale !== 1 && !o.suite) throw new ConfigError('--suite-scale scales the workloads of --suite: add --suite or drop --suite-scale');
  if (o.suite) {
    const other = [o.idle > 0 && '--idle', o.loginStorm && '--login-storm', o.compareCache && '--compare-cache', o.baseline && '--baseline'].filter(Boolean);
    if (other.length > 0) throw new ConfigError(`--suite runs its own workloads (the login storm and --idle included); it cannot be combined with ${other.join(', ')}`);
    return 'done';
  }
  if (o.loginStorm) {
    const other = [o.idle > 0 && '--idle', o.compareCache && '--compare-cache', o.baseline && '--baseline'].filter(Boolean);
    if (other.length > 0) throw new ConfigError(`--login-storm cannot be combined with ${other.join(', ')}`);
    if (o.senders >= o.groupSize) throw new ConfigError(`--login-storm: --senders (${o.senders}) leaves no offline member in a group of --group-size ${o.groupSize}; give fewer senders or larger groups`);
    checkConnectionsPerWorker(o.groups * o.groupSize, o.workers);
    return 'done';
  }
  return 'more';
}
