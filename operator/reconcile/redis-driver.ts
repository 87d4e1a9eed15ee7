/**
 * One Redis lifecycle engine per ImGroupCluster, made on first use with the cluster's Redis
 * password and remade when the password changes; closed when the cluster is gone. The Redis
 * controller's work queue never reconciles one cluster twice at a time, so one engine never runs
 * two steps at once.
 */
import type { Logger } from '../../runtime/ops/logger.js';
import { RedisClusterAdmin } from '../../runtime/redis-cluster/cluster-admin.js';
import type { RedisLifecycleInput, RedisLifecycleResult } from '../redis/lifecycle-types.js';
import { RedisLifecycle, type RedisLifecycleOptions } from '../redis/redis-lifecycle.js';

export interface RedisEngine {
  step(input: RedisLifecycleInput): Promise<RedisLifecycleResult>;
  close(): Promise<void>;
}

/** Makes the engine of one cluster (`key` = namespace/name, for logs). */
export type RedisEngineFactory = (key: string, password: string) => RedisEngine;

export class RedisDriver {
  private readonly engines = new Map<string, { password: string; engine: RedisEngine }>();

  constructor(private readonly factory: RedisEngineFactory) {}

  async step(key: string, password: string, input: RedisLifecycleInput): Promise<RedisLifecycleResult> {
    let entry = this.engines.get(key);
    if (entry && entry.password !== password) {
      await entry.engine.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      entry = { password, engine: this.factory(key, password) };
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

/** Engines of our own lifecycle (operator/redis), each with its own admin connections. */
export function lifecycleEngineFactory(log: Logger, options: Omit<RedisLifecycleOptions, 'log'> = {}): RedisEngineFactory {
  return (key, password) => {
    const engineLog = log.child({ component: 'redis-lifecycle', cluster: key });
    const admin = new RedisClusterAdmin({ password, logger: engineLog });
    const engine = new RedisLifecycle(admin, { ...options, log: engineLog });
    return { step: (input) => engine.step(input), close: () => admin.close() };
  };
}
