/**
 * The soak's "measured maximum rate": a short ramp on the soak's own bed, before the soak starts.
 * Each step offers a fixed send rate (open loop, every user at the same interval) for `stepMs`,
 * then stops and lets every send of the step settle. A step keeps up when the sends acknowledged
 * per second of the step (settling included) reach `keepUpRatio` of the offered rate and their p99
 * stays under `p99LimitMs`; the maximum is the achieved rate of the last step that kept up. The
 * ramp measures the whole local set-up — Redis, gates, logic nodes and the one Node process that
 * runs every client and the checker — on this machine, at this moment.
 */
import type { FaultBed } from '../faults/support/fault-bed.js';

export interface RampStep {
  offeredPerSec: number;
  achievedPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  keptUp: boolean;
}

export interface RampOptions {
  /** Offered rates, ascending, sends per second over all users. */
  ratesPerSec: readonly number[];
  stepMs: number;
  keepUpRatio: number;
  p99LimitMs: number;
  /** The gates' per-connection limit (IMGROUP_RATE_PER_SEC): no user is asked for more. */
  maxPerUserPerSec: number;
}

export const DEFAULT_RAMP: RampOptions = { ratesPerSec: [100, 150, 200, 300, 400, 600, 800, 1200, 1600], stepMs: 10_000, keepUpRatio: 0.9, p99LimitMs: 1000, maxPerUserPerSec: 50 };

export async function measureMaxRate(bed: FaultBed, o: RampOptions = DEFAULT_RAMP): Promise<{ maxPerSec: number; steps: RampStep[] }> {
  const users = bed.driver.users.length;
  const steps: RampStep[] = [];
  let maxPerSec = 0;
  await bed.driver.stopSending();
  for (const rate of o.ratesPerSec) {
    if (rate / users > o.maxPerUserPerSec) break;
    const intervalMs = Math.max(1, Math.round((users * 1000) / rate));
    const offered = (users * 1000) / intervalMs;
    bed.driver.takeLatencies();
    const started = Date.now();
    bed.driver.startSending(intervalMs);
    // The step's length is the measurement window itself.
    await new Promise((r) => setTimeout(r, o.stepMs));
    await bed.driver.stopSending();
    const h = bed.driver.takeLatencies();
    const achieved = (h.count * 1000) / (Date.now() - started);
    const p99 = h.percentile(99);
    const keptUp = achieved >= o.keepUpRatio * offered && p99 !== null && p99 <= o.p99LimitMs;
    steps.push({ offeredPerSec: Math.round(offered), achievedPerSec: Math.round(achieved), p50Ms: h.percentile(50), p99Ms: p99, keptUp });
    console.log(JSON.stringify({ ramp: steps[steps.length - 1] }));
    if (!keptUp) break;
    maxPerSec = achieved;
  }
  return { maxPerSec: Math.round(maxPerSec), steps };
}
