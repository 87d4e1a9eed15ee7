/**
 * What the Redis controller last found about each cluster's Redis Cluster, typed: waiting (no pods
 * or no password yet), unreachable (the lifecycle step failed) or stepped (the step's result). The
 * cluster reconciler reads it for status.redis, the conditions and N-redis's replica count, and is
 * told of every new observation (a source of events, like an informer), so that it writes them.
 */
import type { RedisLifecycleResult } from '../redis/lifecycle-types.js';

interface Observed {
  /** Ready pods of N-redis when observed. */
  readyPods: number;
  /** Replicas of N-redis to apply (a scale-in waits for the leaving pods to be drained). */
  replicas: number;
}

export type RedisObservation =
  | (Observed & { kind: 'waiting'; for: 'pods' | 'password' | 'tls-secret' })
  | (Observed & { kind: 'unreachable'; error: Error })
  | (Observed & { kind: 'stepped'; result: RedisLifecycleResult });

/** The observation in words (status.redis.message and condition messages while not stepped). */
export function observationMessage(o: RedisObservation): string {
  switch (o.kind) {
    case 'waiting':
      if (o.for === 'tls-secret') return 'waiting for the Redis TLS Secret (spec.redis.tls.secretRef) with a PEM ca.crt';
      return o.for === 'pods' ? 'waiting for Redis pods' : 'waiting for the auth Secret (Redis password)';
    case 'unreachable':
      return `redis lifecycle step failed: ${o.error.message}`;
    case 'stepped':
      return o.result.conditions.message || `Redis Cluster is ${o.result.state}`;
  }
}

/** The latest observation per cluster (`namespace/name`). */
export class RedisObservations {
  private readonly latest = new Map<string, RedisObservation>();
  private readonly watchers: ((key: string) => void)[] = [];

  get(key: string): RedisObservation | undefined {
    return this.latest.get(key);
  }

  /** Record an observation and tell the watchers. */
  set(key: string, observation: RedisObservation): void {
    this.latest.set(key, observation);
    for (const w of this.watchers) w(key);
  }

  /** The cluster is gone. */
  delete(key: string): void {
    this.latest.delete(key);
  }

  /** Call `watcher` with the key of every new observation. */
  watch(watcher: (key: string) => void): void {
    this.watchers.push(watcher);
  }
}
