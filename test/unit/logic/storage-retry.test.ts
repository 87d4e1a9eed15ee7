/**
 * The logic node's answer to a Redis failover: requests retried within a bound and the request
 * deadline (StorageRetry), the outage logged once and every failure counted (StorageHealth).
 * Fake timers: the assertions are counts, never wall-clock time.
 */
import { ReplyError } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogicMetrics, type LogicMetrics } from '../../../runtime/logic/logic-metrics.js';
import { failureOf } from '../../../runtime/logic/request-failure.js';
import { StorageHealth } from '../../../runtime/logic/storage-health.js';
import { type RequestDeadline, StorageRetry } from '../../../runtime/logic/storage-retry.js';

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function logger(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) }), lines };
}

const moved = () => new Error('Too many Cluster redirections. Last error: ReplyError: MOVED 3999 127.0.0.1:7004');
const clusterDown = () => new ReplyError('CLUSTERDOWN The cluster is down') as Error;

async function counter(metrics: LogicMetrics, name: keyof LogicMetrics, labels: Record<string, string> = {}): Promise<number> {
  const m = (await (metrics[name] as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string> }> }> }).get()).values;
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

describe('StorageRetry', () => {
  let metrics: LogicMetrics;
  let health: StorageHealth;
  let lines: Line[];
  let refreshes: number;
  let retry: (retryMs: number) => StorageRetry;
  const deadline = (inMs = 10_000, controller = new AbortController()): RequestDeadline => ({ atMs: Date.now() + inMs, signal: controller.signal });

  beforeEach(() => {
    vi.useFakeTimers();
    metrics = createLogicMetrics(new Registry());
    const l = logger();
    lines = l.lines;
    health = new StorageHealth(l.log, metrics);
    refreshes = 0;
    const store = { refreshSlots: () => void refreshes++ };
    // random 0: every backoff delay is the 50 ms floor.
    retry = (storageRetryMs) => new StorageRetry({ store, health, metrics }, { storageRetryMs }, () => 0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries transient failures until the request succeeds, refreshing the slot map each time', async () => {
    const errors = [moved(), clusterDown(), new Error('Connection is closed.')];
    const attempt = vi.fn(async () => {
      const err = errors.shift();
      if (err) throw err;
      return 'stored';
    });
    const result = retry(3000).run('send', attempt, deadline());
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).resolves.toBe('stored');
    expect(attempt).toHaveBeenCalledTimes(4);
    expect(refreshes).toBe(3);
    expect(await counter(metrics, 'storageRetries', { op: 'send' })).toBe(3);
    expect(await counter(metrics, 'storageFailures', { source: 'request' })).toBe(3);
  });

  it.each<[string, () => unknown]>([
    ['a bug of ours', () => new TypeError("Cannot read properties of undefined (reading 'connect')")],
    ['a Redis error reply that waiting does not cure', () => new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['an unexpected script reply', () => new Error('log_append returned an unexpected reply')],
  ])('does not retry %s', async (_name, make) => {
    const err = make();
    const attempt = vi.fn(async () => {
      throw err;
    });
    await expect(retry(3000).run('send', attempt, deadline())).rejects.toBe(err);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(await counter(metrics, 'storageRetries')).toBe(0);
    expect(health.unavailable).toBe(false);
  });

  it('gives up when the retry bound passes, with the last transient error (answered UNAVAILABLE)', async () => {
    const attempt = vi.fn(async () => {
      throw clusterDown();
    });
    const result = retry(1000).run('sync', attempt, deadline());
    const settled = expect(result).rejects.toThrow('CLUSTERDOWN');
    await vi.advanceTimersByTimeAsync(2000);
    await settled;
    // Attempts at 0, 50, … 950 ms: the next one would start at the bound.
    expect(attempt).toHaveBeenCalledTimes(20);
    expect(await counter(metrics, 'storageRetries', { op: 'sync' })).toBe(19);
    expect(failureOf(await result.catch((e: unknown) => e)).code).toBe('UNAVAILABLE');
  });

  it('never retries past the request deadline, even with a longer bound', async () => {
    const attempt = vi.fn(async () => {
      throw moved();
    });
    const result = retry(60_000).run('send', attempt, deadline(300));
    const settled = expect(result).rejects.toThrow('Too many Cluster redirections');
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(attempt).toHaveBeenCalledTimes(6);
  });

  it('stops waiting at once when the deadline fires', async () => {
    const controller = new AbortController();
    const attempt = vi.fn(async () => {
      throw moved();
    });
    const result = retry(60_000).run('login', attempt, deadline(60_000, controller));
    const settled = expect(result).rejects.toThrow('MOVED');
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    await settled;
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('with a bound of 0 answers at once', async () => {
    const attempt = vi.fn(async () => {
      throw clusterDown();
    });
    await expect(retry(0).run('send', attempt, deadline())).rejects.toThrow('CLUSTERDOWN');
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });
});

describe('StorageHealth', () => {
  let now: number;
  let lines: Line[];
  let metrics: LogicMetrics;
  let health: StorageHealth;

  beforeEach(() => {
    now = 1_000_000;
    metrics = createLogicMetrics(new Registry());
    const l = logger();
    lines = l.lines;
    health = new StorageHealth(l.log, metrics, { quietMs: 2000, reminderMs: 60_000 }, () => now);
  });

  const warns = () => lines.filter((l) => l.level === 40);
  const infos = () => lines.filter((l) => l.level === 30);

  it('logs an outage once however many requests fail, and its end once, with the counts', async () => {
    for (let i = 0; i < 100; i++) {
      health.failed(clusterDown(), i % 2 ? 'request' : 'ack');
      if (i % 2) health.requestRetried();
      if (i % 10 === 0) health.requestUnavailable();
      now += 10;
    }
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toMatchObject({ kind: 'clusterdown', err: { message: 'CLUSTERDOWN The cluster is down' } });
    expect(health.unavailable).toBe(true);
    expect(await counter(metrics, 'storageFailures')).toBe(100);
    expect(await counter(metrics, 'storageFailures', { source: 'ack' })).toBe(50);
    expect(await counter(metrics, 'storageOutages')).toBe(1);

    // A success while other requests still fail (another master answers) does not end it ...
    health.succeeded();
    expect(infos()).toHaveLength(0);
    // ... one after a quiet spell does, once.
    now += 2000;
    health.succeeded();
    health.succeeded();
    expect(infos()).toEqual([expect.objectContaining({ msg: 'Redis available again', failures: 100, retriedRequests: 50, unavailableRequests: 10, outageMs: 990 })]);
    expect(health.unavailable).toBe(false);
  });

  it('starts a new outage after a recovery, and recalls a long one every reminder interval', async () => {
    health.failed(moved(), 'request');
    now += 5000;
    health.succeeded();
    health.failed(moved(), 'fanout');
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toMatchObject({ kind: 'moved', source: 'fanout' });
    for (let i = 0; i < 130; i++) {
      now += 1000;
      health.failed(moved(), 'request');
    }
    expect(warns().map((l) => l.msg).slice(2)).toEqual(['Redis still unavailable', 'Redis still unavailable']);
    expect(await counter(metrics, 'storageOutages')).toBe(2);
  });
});
