/**
 * One container of a pod as a supervised local process, kept the way the kubelet keeps it:
 *   - restarts per restartPolicy (Always; OnFailure after a non-zero exit; Never) with the
 *     kubelet's crash-loop backoff: the first restart at once, then `initialMs` doubling up to
 *     `maxMs` (waiting reason CrashLoopBackOff meanwhile); a process that ran 2 × maxMs resets it;
 *   - probes from the container spec (container-prober.ts), one prober per run: readiness sets
 *     `ready`; a failed startup or liveness probe stops the process with the pod's grace period,
 *     and it restarts per policy;
 *   - a status in the API's ContainerStatus shape (state, lastState, restartCount, ready, started).
 * The owner (pod-worker.ts) decides when it runs (`run`), stops for good (`stop`) or is held
 * down for a node-wide restart (`hold`, then `run` again, which counts as a restart).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type ExitInfo, LocalProcess } from '../../../runtime/dev/local-process.js';
import { kubeTime } from './agent-api.js';
import { ContainerProber } from './container-prober.js';
import type { ProbeTarget } from './probes.js';

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
  private prober: ContainerProber | null = null;
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
    this.startProber(gen, spec);
    void proc.waitExit().then((exit) => this.onExit(gen, proc, exit));
    this.opts.onChange();
  }

  private onExit(gen: number, proc: LocalProcess, exit: ExitInfo): void {
    if (gen !== this.generation) return;
    this.prober?.stop();
    this.prober = null;
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
    this.prober?.stop();
    const proc = this.proc;
    if (!proc?.running) return;
    // A frozen process cannot handle SIGTERM: thaw it first.
    if (this.paused) proc.child.kill('SIGCONT');
    await proc.stop(graceMs);
  }

  private startProber(gen: number, spec: ContainerLaunchSpec): void {
    const current = () => gen === this.generation;
    this.prober = new ContainerProber(
      this.opts.container,
      spec.probeTarget,
      this.opts.probePeriodCapMs,
      {
        started: () => {
          if (!current()) return;
          this.isStarted = true;
          this.opts.onChange();
        },
        ready: (ready) => {
          if (!current()) return;
          this.isReady = ready;
          this.opts.onChange();
        },
        failed: (kind, failures) => {
          if (!current()) return;
          this.opts.log.debug({ pod: this.opts.pod, container: this.name, kind, failures }, 'probe failed; stopping the container');
          const proc = this.proc;
          if (!proc?.running) return;
          if (this.paused) proc.child.kill('SIGCONT');
          void proc.stop(this.opts.terminationGraceMs);
        },
      },
      this.opts.log,
    );
    this.prober.start();
  }
}
