/**
 * One fault scenario, start to end: a bed under load, the fault injected, the time until every
 * group accepts sends again measured (from the start of the injection, while the scenario's own
 * checks and the healing go on), the verdict asserted, the figures written to the report.
 */
import type { Fault } from '../injectors/fault.js';
import { type BedOptions, FaultBed } from './fault-bed.js';
import type { Verdict } from './checker.js';

export interface ScenarioOptions {
  /** Row order in the README table. */
  order: number;
  bed?: BedOptions;
  /** Checks while the fault is in effect (before healing); returns notes for the report. */
  during?: (bed: FaultBed, injectedAt: number) => Promise<string | undefined>;
  /** Run after the bed stopped (e.g. close proxies). */
  cleanup?: () => Promise<void>;
}

export interface ScenarioResult {
  verdict: Verdict;
  recoverMs: number;
  notes: string | undefined;
}

export async function runFaultScenario(fault: Fault, opts: ScenarioOptions): Promise<ScenarioResult> {
  const bed = await FaultBed.start(opts.bed);
  try {
    await bed.warm();
    const injectedAt = Date.now();
    await fault.inject(bed);
    const recovered = bed.timeToRecover(injectedAt);
    recovered.catch(() => undefined); // awaited below; a failure then is the test's failure
    const during = await opts.during?.(bed, injectedAt);
    await fault.heal(bed);
    const notes = [during, `whole again ${Date.now() - injectedAt} ms after the injection`].filter(Boolean).join('; ');
    const recoverMs = await recovered;
    // Some load on the healed system before the verdict: every group accepts sends again.
    await bed.acceptedEverywhere('after healing', Date.now(), 2);
    const verdict = await bed.verdict();
    bed.report({ scenario: fault.name, order: opts.order, injected: fault.injected, recoverMs, notes }, verdict);
    return { verdict, recoverMs, notes };
  } finally {
    await bed.stop();
    await opts.cleanup?.();
  }
}
