/**
 * The one door to Redis. Every command this process sends goes through a RedisStore, which counts
 * it (`imgroup_redis_commands_total`), times it, counts round trips and classifies errors. Batches
 * of single-key commands are pipelined per master, so a lookup of N users costs at most
 * (number of masters) round trips, not N; so are batches of script calls (`scripts`).
 */
import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import { type Admission, CommandBudget } from './command-budget.js';
import { CommitQueues } from './commit-queue.js';
import type { RedisMetrics } from './redis-metrics.js';
import { redisErrorKind } from './redis-errors.js';
import { backoffDelayMs, type BackoffBounds } from '../retry/backoff.js';
import { ShortMasters } from './short-masters.js';
import { type RedisTls, tlsConnectOptions, tlsHandshakeError } from './redis-tls.js';
import type { ThrottledLog } from '../ops/throttled-log.js';

export type RedisArg = string | number | Buffer;

/** One command of a batch: name, then arguments; the first argument must be the key. */
export type BatchCommand = readonly [command: string, key: string, ...args: RedisArg[]];

export type BatchReply = [error: Error | null, result: unknown];

/** One call of a `scripts` batch: every key must share one slot (the first key's). */
export interface ScriptCall {
  script: LuaScript;
  keys: readonly string[];
  args: readonly RedisArg[];
}

/** A Lua script with a stable name (used as metrics label) and its SHA1. */
export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

export function defineScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

export interface RedisConnectOptions {
  /** Cluster seed addresses, `host:port`. */
  seeds: readonly string[];
  password?: string | undefined;
  /** A command without a reply after this long fails with a timeout (→ UNAVAILABLE). */
  commandTimeoutMs: number;
  connectTimeoutMs?: number;
  /** Connect to every node with TLS (redis-tls.ts); absent or null: plain TCP. */
  tls?: RedisTls | null | undefined;
}

/** Parse `host:port` (IPv6 as `[addr]:port`); throws a message naming the bad seed. */
export function parseSeed(seed: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(seed.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`Redis seed ${JSON.stringify(seed)} is not host:port`);
  return { host: m[1] as string, port };
}

/** Delay between attempts to reconnect the whole cluster client (e.g. no seed answered). */
const CLUSTER_RECONNECT_BACKOFF: BackoffBounds = { minMs: 100, maxMs: 2000 };

export function createCluster(opts: RedisConnectOptions, extra: Partial<ClusterOptions> = {}): Cluster {
  const nodes = opts.seeds.map(parseSeed);
  const tls = opts.tls ? tlsConnectOptions(opts.tls) : undefined;
  return new Cluster(nodes, {
    // With TLS a node is reached by the name it was given (a seed, or the host name Redis announces
    // with cluster-preferred-endpoint-type hostname), so that the certificate is checked against that
    // name; ioredis would otherwise resolve seed names to IP addresses first.
    ...(tls ? { dnsLookup: ((address, callback) => callback(null, address)) satisfies ClusterOptions['dnsLookup'] } : {}),
    scaleReads: 'master',
    enableReadyCheck: true,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 5000,
    // ioredis counts reconnection attempts from 1.
    clusterRetryStrategy: (times) => backoffDelayMs(times - 1, CLUSTER_RECONNECT_BACKOFF),
    redisOptions: {
      password: opts.password,
      commandTimeout: opts.commandTimeoutMs,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      maxRetriesPerRequest: 2,
      enableAutoPipelining: false,
      ...(tls ? { tls } : {}),
    },
    ...extra,
  });
}

/**
 * Log why connections to the cluster's nodes fail (a refused connection, a timeout), through a
 * ThrottledLog: a node that stays down costs one line per interval. ioredis' cluster client
 * reports a refused TLS handshake only as a closed connection; with `tls`, such a node is asked
 * for a TLS handshake of its own — at most one at a time and one per TLS_DIAGNOSIS_EVERY_MS — and what
 * refused it (a certificate the CA does not sign, or that names another host) is logged.
 */
export function logNodeErrors(cluster: Cluster, log: ThrottledLog, tls?: RedisTls | null): void {
  let diagnosing = false;
  let lastDiagnosis = -Infinity;
  cluster.on('node error', (err: Error, node: string) => {
    if (err.message !== CONNECTION_CLOSED) {
      log.event('redis-node-error', { err: err.message, node }, 'redis node connection error');
      return;
    }
    if (!tls || diagnosing || performance.now() - lastDiagnosis < TLS_DIAGNOSIS_EVERY_MS) return;
    diagnosing = true;
    lastDiagnosis = performance.now();
    const { host, port } = parseNodeKey(node);
    void tlsHandshakeError(host, port, tls, TLS_DIAGNOSIS_TIMEOUT_MS).then((why) => {
      diagnosing = false;
      if (why !== null) log.event('redis-tls-refused', { err: why, node }, 'redis node connection error: TLS handshake failed');
    });
  });
}

/** `host:port` of an ioredis node key (the host may be an IPv6 address with colons). */
export function parseNodeKey(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':');
  return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
}

/** Bounds of logNodeErrors' own TLS handshakes. */
const TLS_DIAGNOSIS_EVERY_MS = 1000;
const TLS_DIAGNOSIS_TIMEOUT_MS = 5000;

/** ioredis' message for a command whose connection closed. */
const CONNECTION_CLOSED = 'Connection is closed.';

export class RedisStore {
  private readyWait: Promise<void> | null = null;
  /** Masters whose last WAIT fell short (scriptThenWait): one WAIT at a time is sent to them. */
  private readonly shortMasters = new ShortMasters();
  /** Appends waiting to share a WAIT on their master (scriptThenWait), by master, replicas and timeout. */
  private readonly commits = new CommitQueues<ScriptCall, [BatchReply, BatchReply]>();

  constructor(
    readonly cluster: Cluster,
    private readonly metrics: RedisMetrics,
    /** The bound on commands pending towards Redis (default: none). */
    readonly budget: CommandBudget = new CommandBudget(),
  ) {
    metrics.pendingSource.commands = () => budget.pendingCommands;
    metrics.pendingSource.bytes = () => budget.pendingBytes;
  }

  /** Room for these commands within the budget; a refusal is counted as an `overload` error and thrown. */
  private admit(commands: number, args: Iterable<readonly RedisArg[]>): Admission {
    try {
      return this.budget.admit(commands, args);
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) }, commands);
      throw err;
    }
  }

  /** One command, one round trip. */
  async call<T = unknown>(command: string, ...args: RedisArg[]): Promise<T> {
    const name = this.count(command);
    const admitted = this.admit(1, [args]);
    try {
      return await this.roundTrip<T>(name, args);
    } finally {
      this.budget.release(admitted);
    }
  }

  /**
   * One command outside the pending-command budget, for the few a process must not have refused
   * under load (a gate's liveness heartbeat). The caller keeps at most one of them in flight, so
   * what the budget leaves out is bounded by the callers, not by load.
   */
  async callReserved<T = unknown>(command: string, ...args: RedisArg[]): Promise<T> {
    return this.roundTrip<T>(this.count(command), args);
  }

  /** Count one command and its round trip; returns its metric name. */
  private count(command: string): string {
    const name = command.toLowerCase();
    this.metrics.commands.inc({ command: name });
    this.metrics.roundtrips.inc();
    return name;
  }

  private async roundTrip<T>(name: string, args: readonly RedisArg[]): Promise<T> {
    const end = this.metrics.duration.startTimer({ command: name });
    try {
      await this.ready();
      return (await this.cluster.call(name, ...args)) as T;
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) });
      throw err;
    } finally {
      end();
    }
  }

  /** Run a Lua script by SHA, loading it on NOSCRIPT. Counted as `script:<name>`. */
  async script<T = unknown>(script: LuaScript, keys: readonly string[], args: readonly RedisArg[]): Promise<T> {
    const label = `script:${script.name}`;
    this.metrics.commands.inc({ command: label });
    this.metrics.roundtrips.inc();
    const admitted = this.admit(1, [keys, args]);
    const end = this.metrics.duration.startTimer({ command: label });
    try {
      await this.ready();
      try {
        return (await this.cluster.evalsha(script.sha, keys.length, ...keys, ...args)) as T;
      } catch (err) {
        if (redisErrorKind(err) !== 'noscript') throw err;
        this.metrics.roundtrips.inc();
        return (await this.cluster.eval(script.source, keys.length, ...keys, ...args)) as T;
      }
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) });
      throw err;
    } finally {
      end();
      this.budget.release(admitted);
    }
  }

  /**
   * Run single-key commands as one pipeline per master (grouped by the slot owner of each
   * command's key). Replies come back in input order, each with its own error. Round trips:
   * at most the number of masters.
   */
  async batch(commands: readonly BatchCommand[]): Promise<BatchReply[]> {
    if (commands.length === 0) return [];
    let admitted: Admission;
    try {
      admitted = this.budget.admit(commands.length, commands.map(([, ...args]) => args));
    } catch (err) {
      for (const [command] of commands) this.metrics.commands.inc({ command: command.toLowerCase() });
      this.metrics.errors.inc({ kind: redisErrorKind(err) }, commands.length);
      return commands.map(() => [err as Error, null]);
    }
    try {
      return await this.batchAdmitted(commands);
    } finally {
      this.budget.release(admitted);
    }
  }

  private async batchAdmitted(commands: readonly BatchCommand[]): Promise<BatchReply[]> {
    try {
      await this.ready();
    } catch (err) {
      for (const [command] of commands) this.metrics.commands.inc({ command: command.toLowerCase() });
      this.metrics.errors.inc({ kind: redisErrorKind(err) }, commands.length);
      return commands.map(() => [err as Error, null]);
    }
    const groups = this.byMaster(commands.map((cmd) => cmd[1]));
    const replies: BatchReply[] = new Array(commands.length);
    await Promise.all(
      groups.map(async ({ node, indexes }) => {
        const names = new Set<string>();
        for (const i of indexes) {
          const name = (commands[i] as BatchCommand)[0].toLowerCase();
          names.add(name);
          this.metrics.commands.inc({ command: name });
        }
        const started = process.hrtime.bigint();
        const results = await this.execOn(
          node,
          indexes.length,
          (pipeline) => {
            for (const i of indexes) {
              const [command, ...args] = commands[i] as BatchCommand;
              pipeline.call(command.toLowerCase(), ...args);
            }
          },
          (j) => {
            const [command, ...args] = commands[indexes[j] as number] as BatchCommand;
            return this.cluster.call(command.toLowerCase(), ...args);
          },
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        for (const name of names) this.metrics.duration.observe({ command: name }, seconds);
        const redirected: number[] = [];
        indexes.forEach((cmdIndex, j) => {
          const reply = results?.[j] ?? [new Error('pipeline returned no reply'), null];
          if (reply[0]) this.metrics.errors.inc({ kind: redisErrorKind(reply[0]) });
          replies[cmdIndex] = [reply[0], reply[1]];
          if (reply[0] && isRedirect(reply[0])) redirected.push(cmdIndex);
        });
        // During a slot migration a pipeline cannot follow MOVED/ASK (its replies disagree), but
        // one command can: send those again one by one (ioredis redirects and waits out TRYAGAIN).
        await Promise.all(
          redirected.map(async (cmdIndex) => {
            const [command, ...args] = commands[cmdIndex] as BatchCommand;
            this.metrics.roundtrips.inc();
            try {
              replies[cmdIndex] = [null, await this.cluster.call(command.toLowerCase(), ...args)];
            } catch (err) {
              this.metrics.errors.inc({ kind: redisErrorKind(err) });
              replies[cmdIndex] = [err as Error, null];
            }
          }),
        );
      }),
    );
    return replies;
  }

  /**
   * Run script calls as one pipeline per master (grouped by the slot owner of each call's first
   * key; every key of one call must share its slot). Each call is counted as `script:<name>`;
   * calls answered NOSCRIPT (a master that has not seen the script, e.g. after a failover) are
   * sent again as EVAL in one more pipeline to that master. Replies come back in input order,
   * each with its own error. Round trips: at most the number of masters (twice after NOSCRIPT).
   */
  async scripts(calls: readonly ScriptCall[]): Promise<BatchReply[]> {
    if (calls.length === 0) return [];
    for (const c of calls) this.metrics.commands.inc({ command: `script:${c.script.name}` });
    let admitted: Admission;
    try {
      admitted = this.budget.admit(calls.length, calls.flatMap((c) => [c.keys, c.args]));
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) }, calls.length);
      return calls.map(() => [err as Error, null]);
    }
    try {
      return await this.scriptsAdmitted(calls);
    } finally {
      this.budget.release(admitted);
    }
  }

  private async scriptsAdmitted(calls: readonly ScriptCall[]): Promise<BatchReply[]> {
    try {
      await this.ready();
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) }, calls.length);
      return calls.map(() => [err as Error, null]);
    }
    const replies: BatchReply[] = new Array(calls.length);
    await Promise.all(
      this.byMaster(calls.map((c) => c.keys[0] ?? '')).map(async ({ node, indexes }) => {
        const started = process.hrtime.bigint();
        const first = await this.execScripts(node, calls, indexes, false);
        const retry = indexes.filter((_, j) => first[j]?.[0] && redisErrorKind(first[j]?.[0]) === 'noscript');
        const second = retry.length > 0 ? await this.execScripts(node, calls, retry, true) : [];
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        for (const name of new Set(indexes.map((i) => (calls[i] as ScriptCall).script.name))) {
          this.metrics.duration.observe({ command: `script:${name}` }, seconds);
        }
        const redirected: number[] = [];
        indexes.forEach((callIndex, j) => {
          const r = retry.indexOf(callIndex);
          const reply = (r >= 0 ? second[r] : first[j]) ?? [new Error('pipeline returned no reply'), null];
          if (reply[0]) this.metrics.errors.inc({ kind: redisErrorKind(reply[0]) });
          replies[callIndex] = [reply[0], reply[1]];
          if (reply[0] && isRedirect(reply[0])) redirected.push(callIndex);
        });
        // As in `batch`: calls a migration redirected go again one by one, with their source.
        await Promise.all(
          redirected.map(async (callIndex) => {
            const { script, keys, args } = calls[callIndex] as ScriptCall;
            this.metrics.roundtrips.inc();
            try {
              replies[callIndex] = [null, await this.cluster.eval(script.source, keys.length, ...keys, ...args)];
            } catch (err) {
              this.metrics.errors.inc({ kind: redisErrorKind(err) });
              replies[callIndex] = [err as Error, null];
            }
          }),
        );
      }),
    );
    return replies;
  }

  /**
   * One script call, then `WAIT replicas timeoutMs` on the same connection to the master that ran
   * it (a node pipeline: WAIT is not allowed inside scripts and has no key, so it must follow the
   * write on the writer's own connection — it waits for every write that connection sent before
   * it). `acked` is the number of replicas that acknowledged, or 0 when the WAIT itself failed
   * (the write may still be there: the caller cannot count it as replicated). A script error is
   * thrown (MOVED, TRYAGAIN … are retryable: the caller runs it again after a slot map refresh);
   * an ASK is followed at once (ASKING, script, WAIT to the importing node); NOSCRIPT is answered
   * by sending the source. Calls to one master share a WAIT (group commit, CommitQueues): those
   * that come while a WAIT is out there go together after it, as [script × k, WAIT]. Counted as
   * `script:<name>` per call and `wait` per WAIT sent, one round trip per pipeline.
   * Null — nothing sent — while the master is short of replicas and another call is probing it
   * (ShortMasters): a WAIT blocks the connection, so they are not queued behind each other.
   */
  async scriptThenWait(call: ScriptCall, replicas: number, timeoutMs: number): Promise<{ reply: unknown; acked: number } | null> {
    const label = `script:${call.script.name}`;
    try {
      await this.ready();
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) });
      throw err;
    }
    let node = this.byMaster([call.keys[0] ?? ''])[0]?.node ?? null;
    if (!node) {
      this.metrics.errors.inc({ kind: 'connection' });
      throw new Error(`Redis Cluster not ready: no known master for the slot of ${JSON.stringify(call.keys[0])}`);
    }
    const master = `${node.options.host}:${node.options.port}`;
    // A master known short of replicas gets one probe at a time, alone; the others share WAITs.
    const grouped = !this.shortMasters.isShort(master);
    if (!grouped && !this.shortMasters.admit(master)) return null;
    let outcome: 'enough' | 'short' | 'failed' = 'failed';
    const started = process.hrtime.bigint();
    try {
      const first = node;
      let [script, wait] = grouped
        ? await this.commits.submit(`${master} ${replicas} ${timeoutMs}`, call, (calls) => this.pipelineScriptsWait(first, calls, replicas, timeoutMs))
        : await this.pipelineScriptWait(node, call, replicas, timeoutMs);
      let asking = false;
      const target = script[0] ? this.askTarget(script[0]) : null;
      if (target) {
        // A slot being migrated: the keys are (or go) on the importing node; one ASKING round there.
        this.metrics.errors.inc({ kind: 'ask' });
        node = target;
        asking = true;
        [script, wait] = await this.pipelineScriptWait(node, call, replicas, timeoutMs, { asking });
      }
      if (script[0] && redisErrorKind(script[0]) === 'noscript') [script, wait] = await this.pipelineScriptWait(node, call, replicas, timeoutMs, { asking, withSource: true });
      const result = this.scriptWaitResult(script, wait);
      outcome = result.acked >= replicas ? 'enough' : 'short';
      return result;
    } catch (err) {
      this.metrics.errors.inc({ kind: redisErrorKind(err) });
      throw err;
    } finally {
      // A shared call that failed (a lost connection, a moved slot) says nothing of the replicas,
      // and it was no probe: only a probe's failure ends its turn.
      if (!grouped || outcome !== 'failed') this.shortMasters.settled(master, outcome);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.duration.observe({ command: label }, seconds);
      this.metrics.duration.observe({ command: 'wait' }, seconds);
    }
  }

  /** One call alone: [ASKING,] script, WAIT. */
  private async pipelineScriptWait(node: Redis, call: ScriptCall, replicas: number, timeoutMs: number, how: { asking?: boolean; withSource?: boolean } = {}): Promise<[BatchReply, BatchReply]> {
    return (await this.pipelineScriptsWait(node, [call], replicas, timeoutMs, how))[0] as [BatchReply, BatchReply];
  }

  /** [ASKING,] the scripts, then one WAIT, as one pipeline: each call's script reply with the WAIT's reply. */
  private async pipelineScriptsWait(
    node: Redis,
    calls: readonly ScriptCall[],
    replicas: number,
    timeoutMs: number,
    { asking = false, withSource = false }: { asking?: boolean; withSource?: boolean } = {},
  ): Promise<Array<[BatchReply, BatchReply]>> {
    const pipeline = node.pipeline();
    if (asking) pipeline.call('asking');
    for (const { script, keys, args } of calls) {
      this.metrics.commands.inc({ command: `script:${script.name}` });
      if (withSource) pipeline.eval(script.source, keys.length, ...keys, ...args);
      else pipeline.evalsha(script.sha, keys.length, ...keys, ...args);
    }
    pipeline.call('wait', replicas, timeoutMs);
    this.metrics.commands.inc({ command: 'wait' });
    this.metrics.roundtrips.inc();
    const results = (await pipeline.exec()) ?? [];
    const at = (i: number): BatchReply => {
      const r = results[i];
      return r ? [r[0], r[1]] : [new Error('pipeline returned no reply'), null];
    };
    const first = asking ? 1 : 0;
    const wait = at(first + calls.length);
    return calls.map((_, i) => [at(first + i), wait]);
  }

  private scriptWaitResult(script: BatchReply, wait: BatchReply): { reply: unknown; acked: number } {
    if (script[0]) throw script[0];
    if (wait[0]) this.metrics.errors.inc({ kind: redisErrorKind(wait[0]) });
    // Off the wire: only a non-negative integer counts as acknowledgements.
    const acked = !wait[0] && typeof wait[1] === 'number' && Number.isSafeInteger(wait[1]) && wait[1] >= 0 ? wait[1] : 0;
    return { reply: script[1], acked };
  }

  /** The connection to the node an `ASK <slot> <host>:<port>` error names, if this client has one. */
  private askTarget(err: Error): Redis | null {
    if (redisErrorKind(err) !== 'ask') return null;
    const addr = /^ASK \d+ (\S+)$/.exec(err.message.trim())?.[1];
    if (!addr) return null;
    return this.cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === addr) ?? null;
  }

  /**
   * Resolves once each master that owns one of `slotKeys` has answered a PING sent now — so every
   * reply sent before it on that connection has been read — or its connection is no longer ready
   * (then those replies are gone with it). After a command timeout Redis may still hold, and be
   * sending, the reply that timed out: a caller that accounts for reply bytes waits for this
   * before it counts them gone. A PING that times out too is sent again. Never rejects.
   */
  async drained(slotKeys: readonly string[]): Promise<void> {
    await Promise.all(
      this.byMaster(slotKeys).map(async ({ node }) => {
        while (node && node.status === 'ready') {
          try {
            await node.ping();
            return;
          } catch (err) {
            if (redisErrorKind(err) !== 'timeout') return;
          }
        }
      }),
    );
  }

  /** One pipeline of EVALSHA (or EVAL) calls to one master. */
  private execScripts(node: Redis | null, calls: readonly ScriptCall[], indexes: readonly number[], withSource: boolean): Promise<BatchReply[]> {
    const send = (target: Pick<Redis, 'eval' | 'evalsha'>, i: number) => {
      const { script, keys, args } = calls[i] as ScriptCall;
      return withSource ? target.eval(script.source, keys.length, ...keys, ...args) : target.evalsha(script.sha, keys.length, ...keys, ...args);
    };
    return this.execOn(
      node,
      indexes.length,
      (pipeline) => {
        for (const i of indexes) void send(pipeline as unknown as Redis, i);
      },
      (j) => send(this.cluster, indexes[j] as number),
    );
  }

  /**
   * `count` commands as one pipeline on the master's own connection — not a Cluster pipeline:
   * ioredis re-sends a whole Cluster pipeline to an ASK target when the failed commands agree and
   * the others were reads, and the target then answers nil for keys that never moved (a wrong
   * reply, not an error). A node pipeline returns MOVED/ASK as they are; `batch`/`scripts` send
   * those again one by one through the Cluster. Without a known master (slot map not there yet)
   * each command goes alone through the Cluster.
   */
  private async execOn(node: Redis | null, count: number, fill: (pipeline: ReturnType<Redis['pipeline']>) => void, single: (j: number) => Promise<unknown>): Promise<BatchReply[]> {
    if (!node) {
      this.metrics.roundtrips.inc(count);
      return Promise.all(Array.from({ length: count }, (_, j) => single(j).then((v): BatchReply => [null, v], (err: Error): BatchReply => [err, null])));
    }
    const pipeline = node.pipeline();
    fill(pipeline);
    this.metrics.roundtrips.inc();
    try {
      const results = (await pipeline.exec()) ?? [];
      return Array.from({ length: count }, (_, j): BatchReply => {
        const r = results[j];
        return r ? [r[0], r[1]] : [new Error('pipeline returned no reply'), null];
      });
    } catch (err) {
      return Array.from({ length: count }, (): BatchReply => [err as Error, null]);
    }
  }

  /** Indexes of `slotKeys` grouped by the master that owns each key's slot (input order kept), with that master's connection. */
  private byMaster(slotKeys: readonly string[]): Array<{ node: Redis | null; indexes: number[] }> {
    const masters = new Map<string, Redis>();
    for (const n of this.cluster.nodes('master')) masters.set(`${n.options.host}:${n.options.port}`, n);
    const groups = new Map<string, { node: Redis | null; indexes: number[] }>();
    for (const [i, key] of slotKeys.entries()) {
      const slot = calculateSlot(key);
      const owner = this.cluster.slots[slot]?.[0];
      const node = owner === undefined ? null : (masters.get(owner) ?? null);
      const groupKey = node ? (owner as string) : `slot:${slot}`;
      let group = groups.get(groupKey);
      if (!group) groups.set(groupKey, (group = { node, indexes: [] }));
      group.indexes.push(i);
    }
    return [...groups.values()];
  }

  /**
   * Before the client knows the slot map (start-up, reconnect), wait for it — bounded by the
   * command timeout — instead of letting commands queue without bound, and so that a batch is
   * grouped by master rather than sent as one pipeline per unknown slot. A closed client is not
   * waited for: the command fails at once.
   */
  private async ready(): Promise<void> {
    const status = this.cluster.status;
    if (status === 'ready' || status === 'end' || status === 'disconnecting') return;
    if (status === 'wait') this.cluster.connect().catch(() => undefined);
    // One shared wait (one 'ready' listener), however many commands arrive meanwhile.
    this.readyWait ??= new Promise<void>((resolve, reject) => {
      const timeoutMs = this.cluster.options.redisOptions?.commandTimeout ?? 2000;
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.cluster.off('ready', onReady);
        reject(new Error(`Redis Cluster connection not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      this.cluster.once('ready', onReady);
    }).finally(() => {
      this.readyWait = null;
    });
    await this.readyWait;
  }

  /**
   * Count a command sent on a connection of its own (a sharded pub/sub subscriber), so the Redis
   * metrics still show everything this process sends.
   */
  countExternal(command: string): void {
    this.metrics.commands.inc({ command: command.toLowerCase() });
    this.metrics.roundtrips.inc();
  }

  /** Count an error seen on a connection of its own. */
  countExternalError(err: unknown): void {
    this.metrics.errors.inc({ kind: redisErrorKind(err) });
  }

  /**
   * Ask the cluster for its slot map again (after a failover or a migration), without waiting:
   * concurrent calls share one refresh (ioredis runs at most one at a time, and refreshes on its
   * own after MOVED and CLUSTERDOWN too, so — like those — it is not counted as a command); a
   * failed refresh counts as an error and is otherwise ignored (the next one tries again).
   */
  refreshSlots(): void {
    if (this.cluster.status !== 'ready') return;
    this.cluster.refreshSlotsCache((err) => {
      if (err) this.metrics.errors.inc({ kind: redisErrorKind(err) });
    });
  }

  /** Number of distinct masters currently owning slots (0 before the slot map is known). */
  mastersCount(): number {
    const owners = new Set<string>();
    for (const nodes of this.cluster.slots) if (nodes?.[0]) owners.add(nodes[0]);
    return owners.size;
  }

  async ping(): Promise<boolean> {
    try {
      await this.call('ping');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.cluster.quit();
    } catch {
      this.cluster.disconnect();
    }
  }
}

/**
 * A reply a pipeline could not follow but one command can: MOVED/ASK (a slot moved or is
 * moving), TRYAGAIN (a multi-key command on a slot being migrated), CLUSTERDOWN (a failover in
 * progress), or ioredis refusing a pipeline whose keys no longer share one node.
 */
function isRedirect(err: Error): boolean {
  const kind = redisErrorKind(err);
  if (kind === 'moved' || kind === 'ask' || kind === 'tryagain' || kind === 'clusterdown') return true;
  return /same slots allocation group|should belong to the same slot/i.test(err.message);
}
