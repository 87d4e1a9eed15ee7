/**
 * Plays the operator's reconcile loop for the lifecycle tests: calls step() again and again,
 * honouring requeueAfterMs (capped, so tests do not idle), applies the StatefulSet replica
 * count the engine allows (a scale-in removes the highest pods only when the engine says so),
 * and stops when `until` holds or the bound on steps/time is reached.
 */
import type { RedisLifecycle } from '../../../operator/redis/redis-lifecycle.js';
import type { RedisLifecycleResult } from '../../../operator/redis/lifecycle-types.js';
import type { LocalRedisPods } from './local-redis-pods.js';

export interface DriveOptions {
  masters: number;
  replicasPerMaster: number;
  /** Stop when this holds for a result. */
  until: (r: RedisLifecycleResult) => boolean;
  /** Default 400. */
  maxSteps?: number;
  /** Default 120000 ms. */
  timeoutMs?: number;
  /** Longest pause between steps. Default 300 ms. */
  maxPauseMs?: number;
  /** Called after every step (e.g. to check keys). */
  onStep?: (r: RedisLifecycleResult, i: number) => Promise<void> | void;
}

export interface Drive {
  results: RedisLifecycleResult[];
  last: RedisLifecycleResult;
}

export async function drive(lifecycle: RedisLifecycle, pods: LocalRedisPods, o: DriveOptions): Promise<Drive> {
  const results: RedisLifecycleResult[] = [];
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  const maxSteps = o.maxSteps ?? 400;
  for (let i = 0; i < maxSteps && Date.now() < deadline; i++) {
    const r = await lifecycle.step({ pods: pods.views(), masters: o.masters, replicasPerMaster: o.replicasPerMaster, port: 6379, statefulSetReplicas: pods.count });
    results.push(r);
    if (process.env.LIFECYCLE_TRACE) console.log(`step ${i}: ${r.state}/${r.conditions.reason}: ${r.conditions.message} {${r.shards.map((s) => `${s.master}(${s.slots})<-${s.replicas.join(",")}`).join(" ")}} problems: ${r.problems.slice(0, 4).join("; ")} [${r.actions.map((a) => `${a.kind}${a.ok ? '' : '!'}: ${a.message}`).join(' | ')}]`);
    await o.onStep?.(r, i);
    if (r.statefulSetReplicas < pods.count) await pods.scaleTo(r.statefulSetReplicas);
    if (o.until(r)) return { results, last: r };
    await new Promise((resolve) => setTimeout(resolve, Math.min(r.requeueAfterMs ?? 100, o.maxPauseMs ?? 300)));
  }
  const last = results[results.length - 1];
  const trail = results.slice(-5).map((r) => `${r.state}/${r.conditions.reason}: ${r.conditions.message} [${r.actions.map((a) => `${a.kind}${a.ok ? '' : '!'}: ${a.message}`).join(' | ')}]`);
  throw new Error(`lifecycle did not get there in ${results.length} steps; last results:\n${trail.join('\n')}\nproblems: ${last?.problems.join('; ')}`);
}
