import { Counter, Histogram, type Registry } from 'prom-client';
import { REDIS_ERROR_KINDS } from './redis-errors.js';

/** Redis load as the process itself sees it: every command it sends, counted where it is sent. */
export interface RedisMetrics {
  commands: Counter<'command'>;
  duration: Histogram<'command'>;
  roundtrips: Counter;
  errors: Counter<'kind'>;
}

export function createRedisMetrics(registry: Registry): RedisMetrics {
  const metrics: RedisMetrics = {
    commands: new Counter({
      name: 'imgroup_redis_commands_total',
      help: 'Redis commands sent by this process, by command (scripts as script:<name>).',
      labelNames: ['command'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'imgroup_redis_command_duration_seconds',
      help: 'Time from sending a Redis command (or the pipeline that carried it) to its reply.',
      labelNames: ['command'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    roundtrips: new Counter({
      name: 'imgroup_redis_roundtrips_total',
      help: 'Network round trips to Redis: one per single command, one per pipeline.',
      registers: [registry],
    }),
    errors: new Counter({
      name: 'imgroup_redis_errors_total',
      help: 'Failed Redis commands, by kind (timeout, connection, moved, ask, tryagain, clusterdown, loading, readonly, masterdown, busy, noscript, reply; see redis-errors.ts).',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
  // Every kind starts at 0, so an error rate reads 0 (not "no data") until the first error.
  for (const kind of REDIS_ERROR_KINDS) metrics.errors.inc({ kind }, 0);
  return metrics;
}
