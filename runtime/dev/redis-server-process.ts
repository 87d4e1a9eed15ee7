/**
 * One `redis-server` child process in cluster mode, for `imgroup dev` and the integration tests.
 * Configured entirely by command-line arguments (no config file): explicit client and cluster-bus
 * ports, its own directory for nodes.conf and data, stdout/stderr appended to `redis.log` there.
 * Nothing is persisted unless asked (`appendOnly`), so a test cluster starts and stops fast.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisServerTlsFiles, redisServerTlsArgs } from '../redis/redis-server-tls.js';
import { tlsConnectOptions } from '../redis/redis-tls.js';
import { type ExitInfo, LocalProcess } from './local-process.js';

export interface RedisServerProcessOptions {
  /** Client port, 1..65535. */
  port: number;
  /** Cluster bus port (`cluster-port`), 1..65535; need not be port + 10000. */
  busPort: number;
  /** Bind address and the address clients use. Default 127.0.0.1. */
  host?: string;
  /** Directory for nodes.conf, data and redis.log; created if missing. One per process. */
  dir: string;
  /** The redis-server binary. Default `redis-server` (found on PATH). */
  redisServer?: string;
  /** `cluster-node-timeout`: how long a node may be unreachable before it is failing. Default 5000 ms. */
  clusterNodeTimeoutMs?: number;
  /** Sets `requirepass` and `masterauth` (passed as arguments: visible in `ps`; for dev and tests only). Default: none. */
  password?: string | undefined;
  /** Keep an append-only file in `dir` (survives restarts). Default false: nothing is persisted. */
  appendOnly?: boolean;
  /**
   * Serve TLS only: on the client port (`port 0`, `tls-port`), the cluster bus and replication
   * (runtime/redis/redis-server-tls.ts). The start-up PING then checks the certificate against
   * `caFile` and `host`. Default: plain TCP.
   */
  tls?: RedisServerTlsFiles | undefined;
  /** With `tls`: the name the certificate carries, when not `host` (the start-up PING checks it). */
  tlsServerName?: string | undefined;
  /** Further `--name value` arguments, appended last. */
  extraArgs?: readonly string[];
  /** Bound on the wait for the first PONG. Default 10000 ms. */
  startTimeoutMs?: number;
}

export interface RedisServerAddr {
  host: string;
  port: number;
  busPort: number;
}

export class RedisServerProcess {
  readonly addr: RedisServerAddr;
  readonly dir: string;
  readonly logFile: string;
  private readonly proc: LocalProcess;

  private constructor(private readonly opts: RedisServerProcessOptions) {
    this.addr = { host: opts.host ?? '127.0.0.1', port: opts.port, busPort: opts.busPort };
    this.dir = opts.dir;
    this.logFile = join(opts.dir, 'redis.log');
    mkdirSync(opts.dir, { recursive: true });
    this.proc = new LocalProcess({
      command: opts.redisServer ?? 'redis-server',
      args: redisServerArgs(this.addr, opts),
      cwd: opts.dir,
      logFile: this.logFile,
    });
  }

  /** Start the server and wait until it answers PING; on failure it is killed and the log tail is in the error. */
  static async start(opts: RedisServerProcessOptions): Promise<RedisServerProcess> {
    for (const [name, port] of [['port', opts.port], ['busPort', opts.busPort]] as const) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`redis-server ${name} ${port} is not 1..65535`);
    }
    if (opts.port === opts.busPort) throw new RangeError(`redis-server port and busPort are both ${opts.port}`);
    const p = new RedisServerProcess(opts);
    try {
      await p.waitPong(opts.startTimeoutMs ?? 10_000);
    } catch (err) {
      await p.kill();
      throw err;
    }
    return p;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** `host:port`. */
  get seed(): string {
    return `${this.addr.host}:${this.addr.port}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs` (default 5000). Resolves when the process has exited. */
  stop(graceMs = 5000): Promise<void> {
    return this.proc.stop(graceMs);
  }

  /** SIGKILL: the node dies at once, as in a crash. Resolves when it has exited. */
  kill(): Promise<void> {
    return this.proc.kill();
  }

  /** A new process with the same options (port, directory, nodes.conf): a crashed node restarted in place. */
  respawn(): Promise<RedisServerProcess> {
    if (this.running) throw new Error(`redis-server ${this.seed} is still running`);
    return RedisServerProcess.start(this.opts);
  }

  waitExit(): Promise<ExitInfo> {
    return this.proc.waitExit();
  }

  /** The last `lines` lines of redis.log, for error messages. */
  logTail(lines = 15): string {
    return this.proc.logTail(lines);
  }

  private async waitPong(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        const failure = this.proc.spawnError;
        const exit = this.proc.exit;
        const why = failure ? `could not be started (${failure.message}; is ${this.opts.redisServer ?? 'redis-server'} installed?)` : `exited (code ${exit?.code}, signal ${exit?.signal})`;
        throw new Error(`redis-server on ${this.seed} ${why}:\n${this.logTail()}`);
      }
      const conn = new Redis({
        host: this.addr.host,
        port: this.addr.port,
        password: this.opts.password,
        ...(this.opts.tls ? { tls: tlsConnectOptions({ ca: readFileSync(this.opts.tls.caFile, 'utf8') }, this.opts.tlsServerName) } : {}),
        lazyConnect: true,
        connectTimeout: 500,
        commandTimeout: 500,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        enableOfflineQueue: false,
      });
      conn.on('error', () => undefined);
      try {
        const probe = conn.connect().then(() => conn.ping());
        probe.catch(() => undefined);
        // Something else may answer on the port while the server itself has already died.
        if ((await Promise.race([probe, this.proc.exitedPromise])) === 'PONG') return;
      } catch (err) {
        last = (err as Error).message;
      } finally {
        conn.disconnect();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${this.seed} did not answer PING within ${timeoutMs} ms (${last}):\n${this.logTail()}`);
  }
}

/** The whole configuration, as redis-server arguments. */
export function redisServerArgs(addr: RedisServerAddr, opts: RedisServerProcessOptions): string[] {
  const args = [
    ...(opts.tls ? redisServerTlsArgs(addr.port, opts.tls) : ['--port', String(addr.port)]),
    '--bind', addr.host,
    '--protected-mode', 'no',
    '--daemonize', 'no',
    '--dir', opts.dir,
    '--logfile', '',
    '--cluster-enabled', 'yes',
    '--cluster-port', String(addr.busPort),
    '--cluster-config-file', join(opts.dir, 'nodes.conf'),
    '--cluster-node-timeout', String(opts.clusterNodeTimeoutMs ?? 5000),
    '--save', '',
    '--appendonly', opts.appendOnly ? 'yes' : 'no',
    // A replica's full sync starts at once instead of after 5 s spent waiting for more replicas
    // to share the transfer: a local cluster forms (and restarts nodes) with replicas that
    // should be counted by WAIT as soon as it is up.
    '--repl-diskless-sync-delay', '0',
  ];
  if (opts.password) args.push('--requirepass', opts.password, '--masterauth', opts.password);
  args.push(...(opts.extraArgs ?? []));
  return args;
}
