/**
 * One container of a pod as a supervised local process, kept the way the kubelet keeps it:
 *   - restarts per restartPolicy (Always; OnFailure after a non-zero exit; Never) with the
 *     kubelet's crash-loop backoff: the first restart at once, then `initialMs` doubling up to
 *     `maxMs` (waiting reason CrashLoopBackOff meanwhile); a process that ran 2 × maxMs resets it;
 *   - probes from the container spec (probes.ts): startupProbe first, then readiness (sets
 *     `ready`) and liveness (failureThreshold misses in a row → the process is stopped with the
 *     pod's grace period and restarts per policy), each on its own period, thresholds honoured;
 *     `probePeriodCapMs` may shorten periods for tests (documented where it is set);
 *   - a status in the API's ContainerStatus shape (state, lastState, restartCount, ready, started).
 * The owner (pod-worker.ts) decides when it runs (`run`), stops for good (`stop`) or is held
 * down for a node-wide restart (`hold`, then `run` again, which counts as a restart).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type ExitInfo, LocalProcess } from '../../../runtime/dev/local-process.js';
import { kubeTime } from './agent-api.js';
import { type ProbeTarget, probeTiming, runProbe } from './probes.js';

export interface ContainerLaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  ipcLifeline: boolean;
  /** Run under `setpriv --pdeathsig KILL`. */
  dieWithAgent: boolean;
  probeTarget: ProbeTarget;
}

export interface RestartBackoff {
  /** Delay of the second restart in a row; doubles from there. Default 500 ms. */
  initialMs: number;
  /** Upper bound of the delay. Default 10000 ms (the kubelet's is 5 min; tests need less). */
  maxMs: number;
}

export interface ContainerRunnerOptions {
  pod: string;
  container: V1Container;
  restartPolicy: string;
  logFile: string;
  backoff: RestartBackoff;
  /** Cap on probe periods (and initial delays), for tests. Default: none (the spec's periods). */
  probePeriodCapMs?: number | undefined;
  /** Grace period when a liveness failure stops the process. */
  terminationGraceMs: number;
  log: Logger;
  /** Called whenever anything in status() changed. */
  onChange: () => void;
}

interface Termination {
  exitCode: number;
  /** The signal's number (the API's field is an integer), when a signal ended the process. */
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
}

export interface ContainerStatusJson {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: Record<string, unknown>;
  lastState: Record<string, unknown>;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

export class ContainerRunner {
  private proc: LocalProcess | null = null;
  private spec: ContainerLaunchSpec | null = null;
  private startedAt: string | null = null;
  private startedAtMs = 0;
  private last: Termination | null = null;
  private waiting: { reason: string; message?: string } | null = { reason: 'ContainerCreating' };
  private restarts = 0;
  private everRan = false;
  private backoffMs = 0;
  private stopped = false;
  private held = false;
  private paused = false;
  private isReady = false;
  private isStarted = false;
  private generation = 0;
  private probeAbort: AbortController | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ContainerRunnerOptions) {}

  get name(): string {
    return this.opts.container.name;
  }

  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get ready(): boolean {
    return this.isReady;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get logFile(): string {
    return this.opts.logFile;
  }

  /** The last lines of the container's log (every run appends to the same file). */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** True once the container can no longer run: stopped, or terminated with a policy that does not restart it. */
  get finished(): boolean {
    return this.stopped || (this.last !== null && !this.running && this.restartTimer === null && !this.shouldRestart(this.last.exitCode));
  }

  get lastExitCode(): number | null {
    return this.last?.exitCode ?? null;
  }

  /** A configuration problem the container waits on (CreateContainerConfigError …), shown in its status. */
  setWaiting(reason: string, message?: string): void {
    if (this.running) return;
    this.waiting = message === undefined ? { reason } : { reason, message };
    this.opts.onChange();
  }

  /** Start (or, after `hold`, start again — a restart) with this launch. */
  run(spec: ContainerLaunchSpec): void {
    // A container that completed under its restart policy stays completed.
    if (this.stopped || (this.everRan && !this.held && this.finished)) return;
    this.held = false;
    this.spec = spec;
    if (this.running || this.restartTimer) return;
    this.spawn();
  }

  /** Stop the process for a node-wide restart; `run` brings it back. */
  async hold(graceMs: number): Promise<void> {
    if (this.stopped || (this.everRan && this.finished)) return;
    this.held = true;
    this.clearRestartTimer();
    await this.terminate(graceMs);
    this.waiting = { reason: 'ContainerCreating', message: 'held down by the test node agent' };
    this.opts.onChange();
  }

  /** Stop for good (pod deleted or agent stopping). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.clearRestartTimer();
    await this.terminate(graceMs);
  }

  /** Send a signal (a fault); restart policy applies when the process exits. Resolves with its exit, or null if it did not exit within `waitMs`. */
  async signal(signal: NodeJS.Signals, waitMs = 10_000): Promise<ExitInfo | null> {
    const proc = this.proc;
    if (!proc?.running) return null;
    proc.child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return null;
    const timeout = sleep(waitMs, null, { ref: false });
    return Promise.race([proc.waitExit(), timeout]);
  }

  /** SIGSTOP / SIGCONT: the process freezes (probes will fail; liveness may restart it, as a kubelet would). */
  pause(): void {
    if (!this.proc?.running || this.paused) return;
    this.paused = true;
    this.proc.child.kill('SIGSTOP');
  }

  resume(): void {
    if (!this.proc?.running || !this.paused) return;
    this.paused = false;
    this.proc.child.kill('SIGCONT');
  }

  status(): ContainerStatusJson {
    const c = this.opts.container;
    let state: Record<string, unknown>;
    let lastState: Record<string, unknown> = this.last ? { terminated: this.last } : {};
    if (this.running) {
      state = { running: { startedAt: this.startedAt } };
    } else if (this.finished && this.last) {
      state = { terminated: this.last };
      lastState = {};
    } else {
      state = { waiting: this.waiting ?? { reason: 'ContainerCreating' } };
    }
    return {
      name: c.name,
      image: c.image ?? '',
      imageID: `local://${c.image ?? ''}`,
      ...(this.proc?.pid !== undefined ? { containerID: `local://${this.proc.pid}` } : {}),
      ready: this.isReady,
      started: this.isStarted,
      restartCount: this.restarts,
      state,
      lastState,
    };
  }

  private shouldRestart(exitCode: number): boolean {
    const policy = this.opts.restartPolicy;
    return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
  }

  private spawn(): void {
    const spec = this.spec;
    if (!spec || this.stopped || this.held) return;
    if (this.everRan) this.restarts++;
    this.everRan = true;
    const [command, args] = spec.dieWithAgent ? ['setpriv', ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]] : [spec.command, spec.args];
    const proc = new LocalProcess({ command, args, env: spec.env, cwd: spec.cwd, logFile: this.opts.logFile, ipcLifeline: spec.ipcLifeline });
    const gen = ++this.generation;
    this.proc = proc;
    this.paused = false;
    this.waiting = null;
    this.startedAt = kubeTime();
    this.startedAtMs = Date.now();
    this.isReady = false;
    this.isStarted = false;
    this.opts.log.debug({ pod: this.opts.pod, container: this.name, pid: proc.pid, command: spec.command }, 'container started');
    this.startProbes(gen, spec);
    void proc.waitExit().then((exit) => this.onExit(gen, proc, exit));
    this.opts.onChange();
  }

  private onExit(gen: number, proc: LocalProcess, exit: ExitInfo): void {
    if (gen !== this.generation) return;
    this.probeAbort?.abort();
    this.probeAbort = null;
    const failure = proc.spawnError;
    const exitCode = failure ? 128 : (exit.code ?? 128 + (exit.signal ? (SIGNAL_NUMBERS[exit.signal] ?? 0) : 0));
    const signalNumber = exit.signal ? SIGNAL_NUMBERS[exit.signal] : undefined;
    this.last = {
      exitCode,
      ...(signalNumber !== undefined ? { signal: signalNumber } : {}),
      reason: failure ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error',
      ...(failure ? { message: failure.message } : {}),
      startedAt: this.startedAt ?? kubeTime(),
      finishedAt: kubeTime(),
    };
    this.isReady = false;
    this.paused = false;
    this.opts.log.debug({ pod: this.opts.pod, container: this.name, exit, failure: failure?.message }, 'container exited');
    if (!this.stopped && !this.held && this.shouldRestart(exitCode)) this.scheduleRestart();
    this.opts.onChange();
  }

  private scheduleRestart(): void {
    const { initialMs, maxMs } = this.opts.backoff;
    if (Date.now() - this.startedAtMs >= 2 * maxMs) this.backoffMs = 0;
    const delay = this.backoffMs;
    this.backoffMs = delay === 0 ? initialMs : Math.min(maxMs, delay * 2);
    if (delay === 0) {
      this.spawn();
      return;
    }
    this.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${delay}ms restarting failed container=${this.name} pod=${this.opts.pod}` };
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawn();
    }, delay);
    this.restartTimer.unref();
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private async terminate(graceMs: number): Promise<void> {
    this.probeAbort?.abort();
    const proc = this.proc;
    if (!proc?.running) return;
    // A frozen process cannot handle SIGTERM: thaw it first.
    if (this.paused) proc.child.kill('SIGCONT');
    await proc.stop(graceMs);
  }

  // -------------------------------------------------------------------------------------------
  // Probes

  private startProbes(gen: number, spec: ContainerLaunchSpec): void {
    const abort = new AbortController();
    this.probeAbort = abort;
    const c = this.opts.container;
    void this.probes(gen, spec, c.startupProbe, c.readinessProbe, c.livenessProbe, abort.signal).catch((err: unknown) => {
      if (!abort.signal.aborted) this.opts.log.warn({ err, pod: this.opts.pod, container: this.name }, 'prober failed');
    });
  }

  private async probes(gen: number, spec: ContainerLaunchSpec, startup: V1Probe | undefined, readiness: V1Probe | undefined, liveness: V1Probe | undefined, signal: AbortSignal): Promise<void> {
    if (startup && !(await this.probeLoop(gen, spec, 'startup', startup, signal))) return;
    this.isStarted = true;
    if (!readiness) this.isReady = true;
    this.opts.onChange();
    await Promise.all([
      readiness ? this.probeLoop(gen, spec, 'readiness', readiness, signal) : Promise.resolve(true),
      liveness ? this.probeLoop(gen, spec, 'liveness', liveness, signal) : Promise.resolve(true),
    ]);
  }

  /**
   * Probe until the generation ends. Startup: resolves true at the first success. Readiness:
   * flips `ready` at the thresholds. Liveness: stops the process after failureThreshold misses.
   * Resolves false when the process went away (or a startup/liveness probe failed it).
   */
  private async probeLoop(gen: number, spec: ContainerLaunchSpec, kind: 'startup' | 'readiness' | 'liveness', probe: V1Probe, signal: AbortSignal): Promise<boolean> {
    const t = probeTiming(probe);
    const cap = this.opts.probePeriodCapMs;
    const periodMs = cap !== undefined ? Math.min(cap, t.periodMs) : t.periodMs;
    const initialDelayMs = cap !== undefined ? Math.min(cap, t.initialDelayMs) : t.initialDelayMs;
    let successes = 0;
    let failures = 0;
    if (initialDelayMs > 0 && !(await pause(initialDelayMs, signal))) return false;
    while (gen === this.generation && !signal.aborted) {
      const ok = await runProbe(probe, spec.probeTarget);
      if (gen !== this.generation || signal.aborted) return false;
      // A frozen process answers nothing; the kubelet would count that too.
      if (ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
      }
      if (kind === 'startup') {
        if (ok) return true;
        if (failures >= t.failureThreshold) return this.failProbe(kind, failures);
      } else if (kind === 'readiness') {
        if (ok && successes >= t.successThreshold && !this.isReady) this.setReady(true);
        if (!ok && failures >= t.failureThreshold && this.isReady) this.setReady(false);
      } else if (!ok && failures >= t.failureThreshold) {
        return this.failProbe(kind, failures);
      }
      if (!(await pause(periodMs, signal))) return false;
    }
    return false;
  }

  private setReady(ready: boolean): void {
    this.isReady = ready;
    this.opts.onChange();
  }

  private failProbe(kind: string, failures: number): false {
    this.opts.log.debug({ pod: this.opts.pod, container: this.name, kind, failures }, 'probe failed; stopping the container');
    const proc = this.proc;
    if (proc?.running) {
      if (this.paused) proc.child.kill('SIGCONT');
      void proc.stop(this.opts.terminationGraceMs);
    }
    return false;
  }
}

/** Sleep unless aborted; false when aborted. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal, ref: false });
    return true;
  } catch {
    return false;
  }
}
