/**
 * A controller's work loop over a test double of a reconciler (named as such: it records calls and
 * returns scripted outcomes): one reconcile per key at a time however many workers, events during
 * a reconcile collapse into one more, and each outcome is acted on and counted as
 * controller-runtime does (transient → retried and an error; requeue → retried, no error;
 * requeueAfter / done / terminal → the key's backoff forgotten).
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_NAMES, createControllerMetrics } from '../../../../operator/controller/controller-metrics.js';
import { type KeyReconciler, ReconcileLoop } from '../../../../operator/controller/reconcile-loop.js';
import type { ReconcileOutcome } from '../../../../operator/reconcile/outcome.js';
import { eventually } from '../../../support/eventually.js';
import { parseExposition } from '../../../support/exposition.js';

/** Test double: holds each reconcile until released, records concurrency per key. */
class HeldReconciler implements KeyReconciler {
  calls: string[] = [];
  inFlight = new Map<string, number>();
  maxInFlightPerKey = 0;
  outcomes: ReconcileOutcome[] = [];
  private releases: (() => void)[] = [];

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const key = `${namespace}/${name}`;
    this.calls.push(key);
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxInFlightPerKey = Math.max(this.maxInFlightPerKey, n);
    await new Promise<void>((resolve) => this.releases.push(resolve));
    this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    return this.outcomes.shift() ?? { kind: 'done' };
  }

  get held(): number {
    return this.releases.length;
  }

  releaseAll(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

function loopOf(reconciler: KeyReconciler, registry = new Registry()) {
  const metrics = createControllerMetrics(registry);
  const loop = new ReconcileLoop(CONTROLLER_NAMES.redis, reconciler, { metrics, log: pino({ level: 'silent' }), workers: 4, backoff: { minMs: 1, maxMs: 2 } });
  return { loop, registry };
}

async function sample(registry: Registry, family: string, labels: Record<string, string>): Promise<number> {
  const f = parseExposition(await registry.metrics()).get(family);
  return f?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0;
}

describe('ReconcileLoop', () => {
  it('reconciles one key on one worker at a time; events meanwhile make exactly one more reconcile', async () => {
    const r = new HeldReconciler();
    const { loop } = loopOf(r);
    loop.start();
    loop.add('ns/a');
    await eventually('a held', () => r.held === 1);
    for (let i = 0; i < 10; i++) loop.add('ns/a');
    loop.add('ns/b');
    await eventually('b held beside a', () => r.held === 2);
    r.releaseAll();
    await eventually('a again', () => r.calls.filter((k) => k === 'ns/a').length === 2 && r.held === 1);
    r.releaseAll();
    await loop.shutDown();
    expect(r.calls.sort()).toEqual(['ns/a', 'ns/a', 'ns/b']);
    expect(r.maxInFlightPerKey).toBe(1);
  });

  it.each([
    ['transient', { kind: 'transient', error: new Error('api down') }, 'error', 1],
    ['requeue', { kind: 'requeue', reason: 'redis unreachable' }, 'requeue', 0],
  ] as const)('%s: retried after the backoff, counted as %s', async (_what, outcome, result, errors) => {
    const r = new HeldReconciler();
    r.outcomes.push(outcome);
    const { loop, registry } = loopOf(r);
    loop.start();
    loop.add('ns/a');
    await eventually('first reconcile', () => r.held === 1);
    r.releaseAll();
    await eventually('retried', () => r.held === 1 && r.calls.length === 2);
    r.releaseAll();
    await loop.shutDown();
    const controller = CONTROLLER_NAMES.redis;
    expect(await sample(registry, 'controller_runtime_reconcile_total', { controller, result })).toBe(1);
    expect(await sample(registry, 'controller_runtime_reconcile_errors_total', { controller })).toBe(errors);
    expect(await sample(registry, 'workqueue_retries_total', { name: controller })).toBe(1);
  });

  it('terminal: not retried, counted as an error', async () => {
    const r = new HeldReconciler();
    r.outcomes.push({ kind: 'terminal', error: new Error('invalid') });
    const { loop, registry } = loopOf(r);
    loop.start();
    loop.add('ns/a');
    await eventually('reconciled', () => r.held === 1);
    r.releaseAll();
    const controller = CONTROLLER_NAMES.redis;
    await eventually('counted', async () => (await sample(registry, 'controller_runtime_reconcile_total', { controller, result: 'terminal' })) === 1);
    // A marker key behind it: once it is reconciled, a retry of ns/a would have been queued first.
    loop.add('ns/marker');
    await eventually('marker reconciled', () => r.held === 1);
    r.releaseAll();
    await loop.shutDown();
    expect(r.calls).toEqual(['ns/a', 'ns/marker']);
    expect(await sample(registry, 'controller_runtime_reconcile_errors_total', { controller })).toBe(1);
    expect(await sample(registry, 'workqueue_retries_total', { name: controller })).toBe(0);
  });
});
