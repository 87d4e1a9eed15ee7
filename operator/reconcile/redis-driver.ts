/**
 * One Redis lifecycle engine per ImGroupCluster, made on first use with the cluster's Redis
 * password and TLS CA (spec.redis.tls) and remade when either changes; closed when the cluster is gone. The Redis
 * controller's work queue never reconciles one cluster twice at a time, so one engine never runs
 * two steps at once.
 */
import type { Logger } from '../../runtime/ops/logger.js';
import { RedisClusterAdmin } from '../../runtime/redis-cluster/cluster-admin.js';
import { formatAddr } from '../../runtime/redis-cluster/redis-addr.js';
import type { RedisTls } from '../../runtime/redis/redis-tls.js';
import { podAddr } from '../redis/pod-observation.js';
import type { RedisLifecycleInput, RedisLifecycleResult } from '../redis/lifecycle-types.js';
import { RedisLifecycle, type RedisLifecycleOptions } from '../redis/redis-lifecycle.js';

export interface RedisEngine {
  step(input: RedisLifecycleInput): Promise<RedisLifecycleResult>;
  close(): Promise<void>;
}

/** How the operator reaches one cluster's Redis nodes. */
export interface RedisAccess {
  password: string;
  /** With spec.redis.tls: the CA (ca.crt of the Secret) the nodes' certificates must be signed by. */
  tls: RedisTls | null;
}

/** Makes the engine of one cluster (`key` = namespace/name, for logs). */
export type RedisEngineFactory = (key: string, access: RedisAccess) => RedisEngine;

function sameAccess(a: RedisAccess, b: RedisAccess): boolean {
  return a.password === b.password && a.tls?.ca === b.tls?.ca;
}

export class RedisDriver {
  private readonly engines = new Map<string, { access: RedisAccess; engine: RedisEngine }>();

  constructor(private readonly factory: RedisEngineFactory) {}

  async step(key: string, access: RedisAccess, input: RedisLifecycleInput): Promise<RedisLifecycleResult> {
    let entry = this.engines.get(key);
    if (entry && !sameAccess(entry.access, access)) {
      await entry.engine.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      entry = { access, engine: this.factory(key, access) };
      this.engines.set(key, entry);
    }
    return entry.engine.step(input);
  }

  /** The cluster is gone: close its engine. */
  async forget(key: string): Promise<void> {
    const entry = this.engines.get(key);
    this.engines.delete(key);
    await entry?.engine.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.keys()].map((k) => this.forget(k)));
  }
}

/**
 * Engines of our own lifecycle (operator/redis), each with its own admin connections. With TLS the
 * admin reaches pods at their IPs and checks each certificate against the pod's DNS name (the
 * `host` of its view in the step's input).
 */
export function lifecycleEngineFactory(log: Logger, options: Omit<RedisLifecycleOptions, 'log'> = {}): RedisEngineFactory {
  return (key, access) => {
    const engineLog = log.child({ component: 'redis-lifecycle', cluster: key });
    const hostByAddr = new Map<string, string>();
    const admin = new RedisClusterAdmin({ password: access.password, logger: engineLog, tls: access.tls, serverName: (addr) => hostByAddr.get(formatAddr(addr)) });
    const engine = new RedisLifecycle(admin, { ...options, log: engineLog });
    return {
      step: (input) => {
        hostByAddr.clear();
        for (const pod of input.pods) {
          const addr = podAddr(pod, input.port);
          if (addr && pod.host !== undefined) hostByAddr.set(formatAddr(addr), pod.host);
        }
        return engine.step(input);
      },
      close: () => admin.close(),
    };
  };
}
