/**
 * `imgroup bench`: the load generator and its report. It starts a local cluster for each run
 * (or uses `--target`), runs the workload (or `--idle`), optionally once more with the session
 * cache off (`--compare-cache`) and against bare `ws` broadcast servers, one process per gate
 * (`--baseline`), and prints a table or, with `--json`, one JSON object on stdout. Progress goes to stderr, on a
 * terminal only. The exit code is 1 when a run lost a message.
 */
import { type BenchOptions, resolveBenchOptions } from './bench-options.js';
import { type BenchOutcome, type BenchRound, idleJson, idleTable, medianRound, outcomeJson, outcomeTable } from './bench-report.js';
import { type BenchTarget, existingTarget, startBenchCluster } from './bench-target.js';
import { runIdle } from './idle-run.js';
import { runLoginStorm } from './login-storm.js';
import { stormJson, stormTable, suiteFailed, suiteJsonLines, suiteLost, suiteTable } from './suite-report.js';
import { runSuite } from './suite-run.js';
import { type ProgressSink, SILENT_PROGRESS, terminalProgress } from './progress-line.js';
import { baselineSubject } from './baseline-subject.js';
import { imgroupSubject, type RunSubject } from './run-subject.js';
import { type RunResult, runWorkload } from './workload-run.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Largest frame the baseline server accepts: a send frame of the largest body plus its envelope. */
const BASELINE_MAX_PAYLOAD = 64 * 1024;

export interface BenchIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Environment for the logic nodes of one run. */
function cacheEnv(o: BenchOptions, ttlMs: number | undefined, invalidation: string | undefined): Record<string, string> {
  return {
    ...(o.minReplicasAck !== undefined ? { IMGROUP_REDIS_MIN_REPLICAS_ACK: String(o.minReplicasAck) } : {}),
    ...(ttlMs !== undefined ? { IMGROUP_SESSION_TTL_MS: String(ttlMs) } : {}),
    ...(invalidation !== undefined ? { IMGROUP_SESSION_INVALIDATION: invalidation } : {}),
  };
}

export async function runBench(argv: readonly string[], env: Env, io: BenchIo = { stdout: process.stdout, stderr: process.stderr }): Promise<void> {
  const o = resolveBenchOptions(argv, env);
  const progress = !o.json && io.stderr.isTTY ? terminalProgress(io.stderr) : SILENT_PROGRESS;
  const cleanups = new Set<() => Promise<void>>();
  const onSignal = () => {
    progress.end();
    io.stderr.write('interrupted: stopping the benchmark’s processes…\n');
    void Promise.race([Promise.all([...cleanups].map((c) => c().catch(() => undefined))), new Promise((r) => setTimeout(r, 10_000))]).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // The inspectors of the gates and logic nodes (loopback, random port) let the benchmark force a full GC before each memory sample.
    const inspect = { NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() };
    // ---- issue 13 §3: --suite and --login-storm (runtime/bench/suite-run.ts, login-storm.ts)
    if (o.suite) {
      const entries = await withTarget(o, { ...cacheEnv(o, o.sessionTtlMs, o.sessionInvalidation), ...inspect }, 'suite', env, progress, cleanups, (subject, target) => runSuite(o, subject, target, progress));
      progress.end();
      io.stdout.write(o.json ? suiteJsonLines(entries).map((l) => `${l}\n`).join('') : suiteTable(entries, o));
      const lost = suiteLost(entries);
      if (lost > 0) io.stderr.write(`imgroup bench: ${lost} message deliveries were lost (missing at or below the member's cursor)\n`);
      for (const e of suiteFailed(entries)) io.stderr.write(`imgroup bench: workload ${e.name} failed\n`);
      if (lost > 0 || suiteFailed(entries).length > 0) process.exitCode = 1;
      return;
    }
    if (o.loginStorm) {
      const result = await withTarget(o, cacheEnv(o, o.sessionTtlMs, o.sessionInvalidation), 'login-storm', env, progress, cleanups, (subject, target) =>
        runLoginStorm(o, subject, target.redis, progress),
      );
      progress.end();
      io.stdout.write(o.json ? `${JSON.stringify(stormJson(result, o))}\n` : stormTable(result, o));
      if (result.lost > 0) {
        io.stderr.write(`imgroup bench: ${result.lost} message deliveries were lost (missing at or below the member's cursor)\n`);
        process.exitCode = 1;
      }
      return;
    }
    // ---- end of issue 13 §3
    if (o.idle > 0) {
      const result = await withTarget(o, inspect, 'idle', env, progress, cleanups, (subject, target) =>
        runIdle(o, subject, { opsUrl: target.gateOpsUrls[0] as string, collectGarbage: () => target.collectGateGarbage() }, progress),
      );
      progress.end();
      io.stdout.write(o.json ? `${JSON.stringify(idleJson(result))}\n` : idleTable(result));
      return;
    }
    const outcome = await runAll(o, env, progress, cleanups);
    progress.end();
    io.stdout.write(o.json ? `${JSON.stringify(outcomeJson(outcome, o))}\n` : outcomeTable(outcome, o));
    const lost = (outcome.rounds ?? [outcome]).reduce((n, r) => n + r.main.lost, 0) + (outcome.cacheOff?.lost ?? 0);
    if (lost > 0) {
      io.stderr.write(`imgroup bench: ${lost} message deliveries were lost (missing at or below the member's cursor)\n`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.end();
  }
}

async function runAll(o: BenchOptions, env: Env, progress: ProgressSink, cleanups: Set<() => Promise<void>>): Promise<BenchOutcome> {
  const imgroupRun = (runEnv: Record<string, string>, label: string, name: string): Promise<RunResult> =>
    withTarget(o, runEnv, label, env, progress, cleanups, (subject) => runWorkload(o, { ...subject, name }, progress));
  let cacheOff: RunResult | undefined;
  if (o.compareCache) cacheOff = await imgroupRun(cacheEnv(o, 0, o.sessionInvalidation), 'cache-off', 'cache off');
  const runBaseline = async (): Promise<RunResult> => {
    // As many server processes as the cluster has gates, the clients split over them as over the gates.
    const subject = baselineSubject(o.target ? o.target.length : o.gates, BASELINE_MAX_PAYLOAD, o.cpuProfDir);
    cleanups.add(subject.close);
    try {
      return await runWorkload(o, subject, progress);
    } finally {
      cleanups.delete(subject.close);
      await subject.close();
    }
  };
  const pairs: BenchRound[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    if (o.rounds > 1) progress.step(`round ${round} of ${o.rounds}`);
    const main = await imgroupRun(cacheEnv(o, o.sessionTtlMs, o.sessionInvalidation), 'imgroup', o.compareCache ? 'cache on' : 'imgroup');
    pairs.push({ main, baseline: o.baseline ? await runBaseline() : undefined });
  }
  const median = medianRound(pairs);
  return { main: median.main, ...(cacheOff ? { cacheOff } : {}), ...(median.baseline ? { baseline: median.baseline } : {}), ...(pairs.length > 1 ? { rounds: pairs } : {}) };
}

/** Start (or connect to) the cluster of one run, run `body`, and always stop what was started. */
async function withTarget<T>(
  o: BenchOptions,
  runEnv: Record<string, string>,
  label: string,
  env: Env,
  progress: ProgressSink,
  cleanups: Set<() => Promise<void>>,
  body: (subject: RunSubject, target: BenchTarget) => Promise<T>,
): Promise<T> {
  let target: BenchTarget;
  if (o.target) target = existingTarget(o);
  else {
    progress.step(`starting a local cluster (${o.gates} gate(s), ${o.logic} logic node(s), Redis ${o.redisMasters} masters with ${o.redisReplicas} replica(s) each)${Object.keys(runEnv).length > 0 ? ` with ${Object.entries(runEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}…`);
    target = await startBenchCluster(o, runEnv, label, env, (line) => progress.step(`  ${line}`));
  }
  const close = () => target.close();
  cleanups.add(close);
  try {
    return await body(imgroupSubject(target), target);
  } finally {
    cleanups.delete(close);
    if (!o.target) progress.step('stopping the local cluster…');
    await target.close();
  }
}
