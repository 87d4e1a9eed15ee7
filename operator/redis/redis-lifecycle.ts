/**
 * The Redis Cluster lifecycle engine of the operator: the reconcile loop calls `step` once per
 * reconcile of an ImGroupCluster. A step observes every pod (pod-observation.ts), makes one
 * picture of the cluster (cluster-picture.ts), plans (lifecycle-plan.ts) and carries the plan
 * out through the cluster admin. It is free of Kubernetes and keeps nothing between steps that
 * correctness needs: every decision comes from what the nodes say, so an operator restarted in
 * the middle of a bootstrap, a migration or a scale-in resumes where the cluster is.
 *
 * Bounds per step: each pod's observation (observeTimeoutMs, pods asked in parallel); no action
 * and no slot move starts later than stepBudgetMs after the step began (so a step lasts at most
 * max(observeTimeoutMs, stepBudgetMs) + one action; the bootstrap, bounded by
 * bootstrapTimeoutMs, is always a step's only action), at most migrateSlotsPerStep slots,
 * maxMeetsPerStep MEETs and maxOpenSlotFixesPerStep open-slot fixes per step, and every single
 * command (the admin's commandTimeoutMs).
 *
 * Use one engine (and one RedisClusterAdmin) per Redis cluster: a step closes the admin's
 * connections to addresses that are no pod's any more.
 */
import { ClusterAdminError } from '../../runtime/redis-cluster/cluster-admin-error.js';
import type { RedisClusterAdmin } from '../../runtime/redis-cluster/cluster-admin.js';
import type { AdminLogger } from '../../runtime/redis-cluster/node-commands.js';
import { pictureOf } from './cluster-picture.js';
import type { LifecycleOp, OpenSlotFix } from './lifecycle-ops.js';
import { planStep, type PlanLimits } from './lifecycle-plan.js';
import { DEFAULT_REQUEUE, lifecycleResult, type ExecutedStep, type RequeueTiming } from './lifecycle-result.js';
import type { LifecycleAction, RedisLifecycleInput, RedisLifecycleResult, RedisMigrationProgress } from './lifecycle-types.js';
import { observePods, podAddr } from './pod-observation.js';
import { formatAddr, isPort, type Addr } from '../../runtime/redis-cluster/redis-addr.js';
import { countSlots } from '../../runtime/redis-cluster/slot-ranges.js';

export interface RedisLifecycleOptions {
  log: AdminLogger;
  /** Slots moved per step at most. Default 64. */
  migrateSlotsPerStep?: number;
  /** No new slot move starts after this long into a step. Default 10000 ms. */
  stepBudgetMs?: number;
  /** Bound on asking one pod (CLUSTER NODES, CLUSTER INFO, DBSIZE). Default 5000 ms. */
  observeTimeoutMs?: number;
  /** Bound on forming a new cluster, including its health wait. Default 30000 ms. */
  bootstrapTimeoutMs?: number;
  /** Keys per MIGRATE. Default 100. */
  keysPerBatch?: number;
  /** MIGRATE's own timeout per batch. Default 5000 ms. */
  migrateTimeoutMs?: number;
  /** Fewer masters are refused (the CRD says at least 3). Default 3. */
  minMasters?: number;
  /** Default 256. */
  maxMeetsPerStep?: number;
  /** Default 64. */
  maxOpenSlotFixesPerStep?: number;
  requeue?: Partial<RequeueTiming>;
}

const DEFAULTS = {
  migrateSlotsPerStep: 64,
  stepBudgetMs: 10_000,
  observeTimeoutMs: 5_000,
  bootstrapTimeoutMs: 30_000,
  keysPerBatch: 100,
  migrateTimeoutMs: 5_000,
  minMasters: 3,
  maxMeetsPerStep: 256,
  maxOpenSlotFixesPerStep: 64,
} as const;

type Settings = Required<Omit<RedisLifecycleOptions, 'log' | 'requeue'>>;

export class RedisLifecycle {
  private readonly log: AdminLogger;
  private readonly settings: Settings;
  private readonly timing: RequeueTiming;

  constructor(
    private readonly admin: RedisClusterAdmin,
    opts: RedisLifecycleOptions,
  ) {
    this.log = opts.log;
    const s: Settings = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as Array<keyof Settings>) {
      const v = opts[key];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`RedisLifecycle option ${key} must be a positive integer, got ${v}`);
      s[key] = v;
    }
    this.settings = s;
    this.timing = { ...DEFAULT_REQUEUE, ...opts.requeue };
  }

  /** One bounded step: observe, plan, act. Never throws; faults are in the result. */
  async step(input: RedisLifecycleInput): Promise<RedisLifecycleResult> {
    const invalid = this.invalidInput(input);
    if (invalid) return this.refused(input, invalid);
    const startedAt = Date.now();
    const desired = input.masters * (1 + input.replicasPerMaster);
    this.admin.retain(input.pods.flatMap((p) => podAddr(p, input.port) ?? []));
    let picture = pictureOf(await observePods(this.admin, input.pods, input.port, desired, this.settings.observeTimeoutMs), desired);
    const limits: PlanLimits = { slotsPerStep: this.settings.migrateSlotsPerStep, maxMeetsPerStep: this.settings.maxMeetsPerStep, maxOpenSlotFixesPerStep: this.settings.maxOpenSlotFixesPerStep };
    const plan = planStep(picture, input, limits);
    const executed = await this.execute(plan.ops, startedAt + this.settings.stepBudgetMs);
    if (plan.ops.some((o) => o.kind === 'bootstrap') && executed.actions.every((a) => a.ok)) {
      picture = pictureOf(await observePods(this.admin, input.pods, input.port, desired, this.settings.observeTimeoutMs), desired);
      const after = planStep(picture, input, limits);
      return lifecycleResult(picture, { ...after, ops: plan.ops }, executed, this.timing);
    }
    const result = lifecycleResult(picture, plan, executed, this.timing);
    this.log.debug({ state: result.state, reason: result.conditions.reason, actions: result.actions.length, ms: Date.now() - startedAt }, 'redis lifecycle step');
    return result;
  }

  private invalidInput(input: RedisLifecycleInput): string | null {
    if (!Number.isSafeInteger(input.masters) || input.masters < this.settings.minMasters) return `masters must be an integer ≥ ${this.settings.minMasters}, got ${input.masters}`;
    if (!Number.isSafeInteger(input.replicasPerMaster) || input.replicasPerMaster < 0) return `replicasPerMaster must be an integer ≥ 0, got ${input.replicasPerMaster}`;
    if (!isPort(input.port)) return `port must be 1..65535, got ${input.port}`;
    if (!Number.isSafeInteger(input.statefulSetReplicas) || input.statefulSetReplicas < 0) return `statefulSetReplicas must be a count, got ${input.statefulSetReplicas}`;
    const ordinals = new Set<number>();
    for (const p of input.pods) {
      if (!Number.isSafeInteger(p.ordinal) || p.ordinal < 0) return `pod ${p.name}: ordinal ${p.ordinal} is not a count`;
      if (ordinals.has(p.ordinal)) return `two pods have ordinal ${p.ordinal}`;
      ordinals.add(p.ordinal);
    }
    return null;
  }

  private refused(input: RedisLifecycleInput, why: string): RedisLifecycleResult {
    return {
      state: 'Failed',
      slotsAssigned: 0,
      shards: [],
      migration: null,
      statefulSetReplicas: Math.max(0, Number.isSafeInteger(input.statefulSetReplicas) ? input.statefulSetReplicas : 0),
      actions: [],
      requeueAfterMs: null,
      conditions: { clusterFormed: false, slotsAssigned: false, degraded: true, reason: 'InvalidSpec', message: why },
      problems: [why],
      unreachable: [],
    };
  }

  /**
   * Carry the ops out in order; a failed op is reported and the others still run (no further slot
   * moves). No op starts after the deadline: the next step plans what is left again.
   */
  private async execute(ops: readonly LifecycleOp[], deadline: number): Promise<ExecutedStep> {
    const done: ExecutedStep = { actions: [], migration: null, slotsAssignedNow: 0 };
    let failed = false;
    for (const [i, op] of ops.entries()) {
      if (Date.now() >= deadline) {
        this.log.info({ left: ops.length - i }, 'redis lifecycle step budget spent; the next step carries on');
        break;
      }
      if (op.kind === 'migrate') {
        if (failed) continue;
        const moved = await this.migrate(op, deadline);
        done.migration = moved.progress;
        done.actions.push(moved.action);
        continue;
      }
      try {
        const note = await this.run(op);
        if (op.kind === 'assign-slots') done.slotsAssignedNow += countSlots(op.ranges);
        done.actions.push({ kind: op.kind, message: note ? `${op.message}: ${note}` : op.message, ok: true });
        this.log.info({ kind: op.kind }, op.message);
      } catch (err) {
        failed = true;
        const why = err instanceof Error ? err.message : String(err);
        done.actions.push({ kind: op.kind, message: `${op.message}: failed: ${why}`, ok: false });
        this.log.warn({ kind: op.kind, err }, `redis lifecycle action failed: ${op.message}`);
      }
    }
    return done;
  }

  /** One op other than migrate; returns a note for the message, if any. */
  private async run(op: Exclude<LifecycleOp, { kind: 'migrate' }>): Promise<string | void> {
    const a = this.admin;
    switch (op.kind) {
      case 'bootstrap':
        await a.formCluster({ masters: [], plan: op.plan, timeoutMs: this.settings.bootstrapTimeoutMs });
        return;
      case 'meet':
        await a.meet(op.at.addr, op.target);
        return;
      case 'replicate':
        await a.replicate(op.at.addr, op.masterId);
        return;
      case 'failover':
        await a.failover(op.at.addr);
        return;
      case 'reset':
        await a.reset(op.at.addr, 'soft');
        return;
      case 'assign-slots':
        await a.addSlots(op.at.addr, op.ranges);
        return;
      case 'forget':
        return this.forgetEverywhere(op.id, op.at.map((n) => n.addr));
      case 'fix-open-slot':
        return this.fixOpenSlot(op.fix);
    }
  }

  private async forgetEverywhere(id: string, at: readonly Addr[]): Promise<string | void> {
    const errors: string[] = [];
    await Promise.all(
      at.map(async (addr) => {
        try {
          await this.admin.forget(addr, id);
        } catch (err) {
          // Already forgotten (or never known) is what we wanted.
          if (err instanceof ClusterAdminError && /unknown node/i.test(err.message)) return;
          errors.push(err instanceof Error ? err.message : String(err));
        }
      }),
    );
    if (errors.length > 0) throw new Error(errors.join('; '));
  }

  private async fixOpenSlot(fix: OpenSlotFix): Promise<string | void> {
    const a = this.admin;
    switch (fix.type) {
      case 'finish': {
        const r = await a.migrateSlot(fix.slot, fix.from.addr, fix.to.addr, { replace: true, keysPerBatch: this.settings.keysPerBatch, migrateTimeoutMs: this.settings.migrateTimeoutMs });
        return `${r.keysMoved} keys moved`;
      }
      case 'stable': {
        if (fix.onlyIfEmpty) {
          const keys = await a.countKeysInSlot(fix.at.addr, fix.slot);
          if (keys > 0) throw new ClusterAdminError('INVALID', `${fix.at.pod} holds ${keys} keys of slot ${fix.slot}; left open for a human to decide`);
        }
        await a.setSlot(fix.at.addr, fix.slot, 'stable');
        return;
      }
      case 'claim':
        await a.setSlot(fix.at.addr, fix.slot, 'node', fix.id);
        return;
    }
  }

  /** Move the op's slots one by one until done, the budget is spent, or a slot fails. */
  private async migrate(op: Extract<LifecycleOp, { kind: 'migrate' }>, deadline: number): Promise<{ action: LifecycleAction; progress: RedisMigrationProgress }> {
    let moved = 0;
    let keys = 0;
    let error: string | null = null;
    for (const slot of op.slots) {
      if (Date.now() >= deadline) break;
      try {
        const r = await this.admin.moveSlot(slot, op.from, op.to, op.others, { replace: true, keysPerBatch: this.settings.keysPerBatch, migrateTimeoutMs: this.settings.migrateTimeoutMs });
        moved++;
        keys += r.keysMoved;
      } catch (err) {
        error = `slot ${slot}: ${err instanceof Error ? err.message : String(err)}`;
        this.log.warn({ err, slot, from: formatAddr(op.from.addr), to: formatAddr(op.to.addr) }, 'slot move failed; the next step finishes or rolls it back');
        break;
      }
    }
    const progress: RedisMigrationProgress = { from: op.from.pod, to: op.to.pod, slotsMoved: moved, slotsPlanned: op.slots.length, slotsRemaining: Math.max(0, op.remaining - moved) };
    const summary = `moved ${moved} of ${op.slots.length} slots (${keys} keys) from ${op.from.pod} to ${op.to.pod}; ${progress.slotsRemaining} slots still to move`;
    this.log.info({ moved, keys, remaining: progress.slotsRemaining }, summary);
    return { action: { kind: 'migrate', message: error ? `${summary}: failed at ${error}` : summary, ok: error === null }, progress };
  }
}
