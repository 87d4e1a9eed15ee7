/**
 * Redis "pods" without Kubernetes for the lifecycle tests: pod `redis-<i>` is a redis-server
 * process with its own directory (its volume: nodes.conf and the append-only file survive
 * restarts), on its own loopback address 127.0.0.<x> and free ports. The test plays the
 * StatefulSet and the kubelet: it starts pods, kills and restarts them (optionally on new
 * addresses, optionally with a wiped volume), and removes the highest ordinals on scale-in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServerProcess } from '../../../runtime/dev/redis-server-process.js';
import type { RedisPodView } from '../../../operator/redis/lifecycle-types.js';
import { getFreePorts } from '../../support/free-ports.js';

export interface LocalRedisPodsOptions {
  /** Default 2000 ms. */
  clusterNodeTimeoutMs?: number;
  password?: string;
}

interface Pod {
  ordinal: number;
  host: string;
  port: number;
  busPort: number;
  /** Bumped when the volume is wiped, so the pod starts from an empty directory. */
  generation: number;
  proc: RedisServerProcess | null;
}

const usedHosts = new Set<string>();

/** A loopback address 127.0.0.<x> (x in 2..254) not handed out before in this process. */
function newHost(): string {
  for (let i = 0; i < 1000; i++) {
    const host = `127.0.0.${2 + Math.floor(Math.random() * 253)}`;
    if (usedHosts.has(host)) continue;
    usedHosts.add(host);
    return host;
  }
  throw new Error('no unused 127.0.0.<x> address left');
}

export class LocalRedisPods {
  private readonly pods = new Map<number, Pod>();

  private constructor(
    readonly dir: string,
    private readonly opts: LocalRedisPodsOptions,
  ) {}

  static async create(count: number, opts: LocalRedisPodsOptions = {}): Promise<LocalRedisPods> {
    const pods = new LocalRedisPods(await mkdtemp(join(tmpdir(), 'imgroup-lifecycle-')), opts);
    try {
      await pods.scaleTo(count);
    } catch (err) {
      await pods.stop();
      throw err;
    }
    return pods;
  }

  /** The pod list as the API would show it (Ready = process running). */
  views(): RedisPodView[] {
    return [...this.pods.values()]
      .sort((a, b) => a.ordinal - b.ordinal)
      .map((p) => ({ name: `redis-${p.ordinal}`, ordinal: p.ordinal, ip: p.host, port: p.port, ready: p.proc?.running === true }));
  }

  get count(): number {
    return this.pods.size;
  }

  addr(ordinal: number): { host: string; port: number } {
    const p = this.pod(ordinal);
    return { host: p.host, port: p.port };
  }

  /** `host:port` of every running pod. */
  seeds(): Array<{ host: string; port: number }> {
    return [...this.pods.values()].filter((p) => p.proc?.running).map((p) => ({ host: p.host, port: p.port }));
  }

  /** Start pods up to `count`, or stop and delete (with their volumes) the ordinals ≥ count. */
  async scaleTo(count: number): Promise<void> {
    const starts: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      if (this.pods.has(i)) continue;
      const [port, busPort] = await getFreePorts(2);
      const pod: Pod = { ordinal: i, host: newHost(), port: port as number, busPort: busPort as number, generation: 0, proc: null };
      this.pods.set(i, pod);
      starts.push(this.startPod(pod));
    }
    await Promise.all(starts);
    const gone = [...this.pods.values()].filter((p) => p.ordinal >= count);
    await Promise.all(gone.map(async (p) => {
      await p.proc?.stop();
      this.pods.delete(p.ordinal);
      await rm(this.podDir(p), { recursive: true, force: true });
    }));
  }

  /** SIGKILL the pod's process (the pod stays listed, not Ready). */
  async kill(ordinal: number): Promise<void> {
    const p = this.pod(ordinal);
    await p.proc?.kill();
  }

  /** Start a pod that was killed; `newAddress`: on a new 127.0.0.<x> and new ports; `wipe`: with an empty volume. */
  async restart(ordinal: number, o: { newAddress?: boolean; wipe?: boolean } = {}): Promise<void> {
    const p = this.pod(ordinal);
    if (p.proc?.running) await p.proc.stop();
    if (o.wipe) {
      await rm(this.podDir(p), { recursive: true, force: true });
      p.generation++;
    }
    if (o.newAddress) {
      const [port, busPort] = await getFreePorts(2);
      p.host = newHost();
      p.port = port as number;
      p.busPort = busPort as number;
    }
    await this.startPod(p);
  }

  /** Stop every pod at once (SIGTERM: the append-only file is flushed) and start them all again, volumes kept. */
  async restartAll(o: { newAddress: boolean }): Promise<void> {
    await Promise.all([...this.pods.values()].map((p) => p.proc?.stop()));
    for (const p of this.pods.values()) {
      if (!o.newAddress) continue;
      const [port, busPort] = await getFreePorts(2);
      p.host = newHost();
      p.port = port as number;
      p.busPort = busPort as number;
    }
    await Promise.all([...this.pods.values()].map((p) => this.startPod(p)));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pods.values()].map((p) => p.proc?.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private pod(ordinal: number): Pod {
    const p = this.pods.get(ordinal);
    if (!p) throw new Error(`no pod redis-${ordinal}`);
    return p;
  }

  private podDir(p: Pod): string {
    return join(this.dir, `redis-${p.ordinal}-${p.generation}`);
  }

  private async startPod(p: Pod): Promise<void> {
    p.proc = await RedisServerProcess.start({
      host: p.host,
      port: p.port,
      busPort: p.busPort,
      dir: this.podDir(p),
      clusterNodeTimeoutMs: this.opts.clusterNodeTimeoutMs ?? 2000,
      password: this.opts.password,
      appendOnly: true,
      // As in the pod spec (operator/desired/redis-config.ts): the node announces its pod IP.
      // Without it a node on 127.0.0.<x> would be known by the source address of its
      // outgoing bus connections, 127.0.0.1.
      extraArgs: ['--cluster-announce-ip', p.host],
    });
  }
}
