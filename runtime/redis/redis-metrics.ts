import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REDIS_ERROR_KINDS } from './redis-errors.js';

/** Redis load as the process itself sees it: every command it sends, counted where it is sent. */
export interface RedisMetrics {
  commands: Counter<'command'>;
  duration: Histogram<'command'>;
  roundtrips: Counter;
  errors: Counter<'kind'>;
  pendingCommands: Gauge;
  pendingBytes: Gauge;
  /** Read on every scrape: the RedisStore's command budget sets these. */
  pendingSource: { commands: () => number; bytes: () => number };
}

export function createRedisMetrics(registry: Registry): RedisMetrics {
  const pendingSource = { commands: () => 0, bytes: () => 0 };
  const metrics: RedisMetrics = {
    pendingSource,
    pendingCommands: new Gauge({
      name: 'imgroup_redis_pending_commands',
      help: 'Redis commands this process has sent or queued and not yet had answered; bounded by IMGROUP_REDIS_MAX_PENDING_COMMANDS (beyond it commands fail at once, kind overload).',
      registers: [registry],
      collect() {
        this.set(pendingSource.commands());
      },
    }),
    pendingBytes: new Gauge({
      name: 'imgroup_redis_pending_bytes',
      help: 'Bytes of the arguments of pending Redis commands (plus a fixed overhead each); bounded by IMGROUP_REDIS_MAX_PENDING_BYTES.',
      registers: [registry],
      collect() {
        this.set(pendingSource.bytes());
      },
    }),
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
      help: 'Failed Redis commands, by kind (timeout, connection, moved, ask, tryagain, clusterdown, loading, readonly, masterdown, busy, noscript, overload, reply; see redis-errors.ts).',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
  // Every kind starts at 0, so an error rate reads 0 (not "no data") until the first error.
  for (const kind of REDIS_ERROR_KINDS) metrics.errors.inc({ kind }, 0);
  return metrics;
}
