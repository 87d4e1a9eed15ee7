/**
 * `make soak` (not in CI): SOAK_MINUTES (default 10) at half the measured maximum send rate, with
 * connect/disconnect churn all along and one fault at the start of every minute, rotating through
 * the fault suite's injectors. Every minute: each process's RSS and heap after a forced full GC, and
 * the p50/p99 of the sends acknowledged in that minute. At the end: nothing accepted lost (the
 * fault suite's checker), memory flat (criterion below), and the figures in `.faults/soak.json`
 * for the README.
 *
 * Memory flat: for every process life (a node restarted by a fault starts a new one) sampled at
 * least MIN_LIFE_SAMPLES times, the post-GC heap at its last sample is at most
 * max(HEAP_FLAT.ratio × its second sample, its second sample + HEAP_FLAT.bytes) — the first sample
 * of a life is still warming up.
 */
import { expect, it } from 'vitest';
import type { Fault } from '../faults/injectors/fault.js';
import { cutGateRedis, silenceLogicLink } from '../faults/injectors/network-faults.js';
import { killGate, killLogic, pauseLogic, rollingGates, rollingLogic } from '../faults/injectors/process-faults.js';
import { killRedisMaster, killRedisReplica } from '../faults/injectors/redis-faults.js';
import { churnRound } from '../faults/support/churn.js';
import { FaultBed } from '../faults/support/fault-bed.js';
import { writeReport } from '../faults/support/fault-report.js';
import { INSPECT_ENV, type ProcessSample, sampleProcess } from '../faults/support/process-sample.js';
import { measureMaxRate } from './rate-ramp.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const MINUTE_MS = 60_000;
const HEAP_FLAT = { ratio: 1.25, bytes: 8 * 1024 * 1024 };
const MIN_LIFE_SAMPLES = 3;
const CHURN_USERS = 8;
const CHURN_PAUSE_MS = 1000;

it(`soak: ${MINUTES} min at half the measured maximum rate, churn and a fault every minute`, { timeout: (MINUTES + 10) * MINUTE_MS }, async () => {
  expect(Number.isInteger(MINUTES) && MINUTES >= 1, 'SOAK_MINUTES must be an integer ≥ 1').toBe(true);
  const cut = cutGateRedis(1, 10_000);
  const silent = silenceLogicLink(1);
  // Faults that restart nothing first, so that the processes live long enough to judge their memory.
  const faults: Fault[] = [pauseLogic(1, 20_000), killRedisReplica(), killRedisMaster(), cut, silent, killLogic(1), killGate(1), rollingGates(), rollingLogic()];
  const bed = await FaultBed.start({ ...cut.bedOptions, ...silent.bedOptions, env: INSPECT_ENV, load: { users: 32, groups: 16, maxPendingSends: 2000 } });
  let churning = true;
  let churnRounds = 0;
  let churnFailures = 0;
  let churn: Promise<void> = Promise.resolve();
  try {
    await bed.warm();
    const ramp = await measureMaxRate(bed);
    expect(ramp.maxPerSec, `no ramp step kept up: ${JSON.stringify(ramp.steps)}`).toBeGreaterThan(0);
    const soakPerSec = ramp.maxPerSec / 2;
    const users = bed.driver.users.length;
    const intervalMs = Math.max(20, Math.round((users * 1000) / soakPerSec));

    const churnGroup = bed.driver.groups[0] as string;
    const churners = Array.from({ length: CHURN_USERS }, (_, k) => `churn-${churnGroup}-${k}`);
    await bed.sys.addMembers(churnGroup, churners);
    churn = (async () => {
      while (churning) {
        try {
          await churnRound(bed.sys, churners);
          churnRounds++;
        } catch {
          churnFailures++;
        }
        // Churn is paced (a load shape), not synchronised on time.
        await new Promise((r) => setTimeout(r, CHURN_PAUSE_MS));
      }
    })();

    bed.driver.takeLatencies();
    bed.driver.startSending(intervalMs);
    const minutes: Array<{ minute: number; fault: string; recoverMs: number; acked: number; p50Ms: number | null; p99Ms: number | null; processes: ProcessSample[] }> = [];
    const soakStarted = Date.now();
    for (let m = 0; m < MINUTES; m++) {
      const minuteStart = soakStarted + m * MINUTE_MS;
      const fault = faults[m % faults.length] as Fault;
      const injectedAt = Date.now();
      await fault.inject(bed);
      const recovered = bed.timeToRecover(injectedAt);
      recovered.catch(() => undefined);
      await fault.heal(bed);
      const recoverMs = await recovered;
      // The rest of the minute under steady load: the soak's pace, by design a duration.
      const left = minuteStart + MINUTE_MS - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      const h = bed.driver.takeLatencies();
      const processes = await Promise.all([...bed.sys.gates, ...bed.sys.logic].map((n) => sampleProcess(bed.sys, n, { gc: true })));
      const row = { minute: m + 1, fault: fault.name, recoverMs, acked: h.count, p50Ms: h.percentile(50), p99Ms: h.percentile(99), processes };
      minutes.push(row);
      console.log(JSON.stringify({ ...row, processes: processes.map((p) => `${p.name}#${p.pid} heap ${(p.heapUsedBytes / 2 ** 20).toFixed(1)} MiB rss ${(p.rssBytes / 2 ** 20).toFixed(0)} MiB`) }));
    }
    churning = false;
    await churn;
    const { verdict, waitError } = await bed.settle();

    // Memory: per process life (name + pid), from its second sample to its last.
    const lives = new Map<string, ProcessSample[]>();
    for (const row of minutes) for (const p of row.processes) lives.set(`${p.name}#${p.pid}`, [...(lives.get(`${p.name}#${p.pid}`) ?? []), p]);
    const memory = [...lives.entries()]
      .filter(([, s]) => s.length >= MIN_LIFE_SAMPLES)
      .map(([life, s]) => {
        const from = (s[1] as ProcessSample).heapUsedBytes;
        const to = (s[s.length - 1] as ProcessSample).heapUsedBytes;
        return { life, samples: s.length, fromMiB: from / 2 ** 20, toMiB: to / 2 ** 20, flat: to <= Math.max(HEAP_FLAT.ratio * from, from + HEAP_FLAT.bytes) };
      });
    const figures = {
      minutes: MINUTES,
      ramp,
      soakPerSec: Math.round((users * 1000) / intervalMs),
      users,
      groups: bed.driver.groups.length,
      churnRounds,
      churnClientsPerRound: CHURN_USERS,
      churnFailures,
      accepted: verdict.accepted,
      delivered: verdict.delivered,
      expected: verdict.expected,
      lost: verdict.lost,
      duplicates: verdict.duplicates,
      codes: verdict.codes,
      rejected: verdict.rejected,
      gappedMembers: verdict.gappedMembers,
      settleError: waitError ? String((waitError as Error).message) : null,
      memory,
      heapFlatCriterion: `last post-GC heap ≤ max(${HEAP_FLAT.ratio} × second sample, second sample + ${HEAP_FLAT.bytes / 2 ** 20} MiB), per process life of ≥ ${MIN_LIFE_SAMPLES} samples`,
      perMinute: minutes.map((r) => ({
        minute: r.minute,
        fault: r.fault,
        recoverMs: r.recoverMs,
        acked: r.acked,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        heapMiB: Object.fromEntries(r.processes.map((p) => [p.name, Math.round((p.heapUsedBytes / 2 ** 20) * 10) / 10])),
        rssMiB: Object.fromEntries(r.processes.map((p) => [p.name, Math.round(p.rssBytes / 2 ** 20)])),
      })),
    };
    writeReport('soak', figures);
    console.log(JSON.stringify({ soak: { ...figures, perMinute: undefined } }));
    if (waitError) throw waitError;
    FaultBed.assertVerdict(verdict);
    if (MINUTES >= MIN_LIFE_SAMPLES) expect(memory.length, 'process lives long enough to judge').toBeGreaterThan(0);
    expect(memory.filter((x) => !x.flat), 'process lives whose heap grew').toEqual([]);
  } finally {
    churning = false;
    await churn;
    await bed.stop();
    await cut.close();
    await silent.close();
  }
});
