/**
 * The kubelet's prober for one run of a container: the startupProbe until its first success
 * (failureThreshold misses → `failed`), then readiness (flips `ready` at successThreshold /
 * failureThreshold) and liveness (failureThreshold misses in a row → `failed`) on their own
 * periods, after their initial delays. Without a readinessProbe the container is ready once
 * started. `periodCapMs` shortens periods and initial delays for tests. A frozen (SIGSTOPped)
 * process answers nothing, and that counts as a miss, as it would for the kubelet.
 * `stop()` ends every loop at once; nothing is reported after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type ProbeTarget, probeTiming, runProbe } from './probes.js';

export interface ProberEvents {
  /** The startup probe passed (or there is none). */
  started(): void;
  ready(ready: boolean): void;
  /** A startup or liveness probe failed: the container must be stopped (and restarted per policy). */
  failed(kind: 'startup' | 'liveness', failures: number): void;
}

export class ContainerProber {
  private readonly abort = new AbortController();
  private isReady = false;

  constructor(
    private readonly container: V1Container,
    private readonly target: ProbeTarget,
    private readonly periodCapMs: number | undefined,
    private readonly events: ProberEvents,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.log.warn({ err, container: this.container.name }, 'prober failed');
    });
  }

  stop(): void {
    this.abort.abort();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const { startupProbe, readinessProbe, livenessProbe } = this.container;
    if (startupProbe && !(await this.loop('startup', startupProbe))) return;
    if (this.stopped) return;
    this.events.started();
    if (!readinessProbe) this.setReady(true);
    await Promise.all([readinessProbe ? this.loop('readiness', readinessProbe) : null, livenessProbe ? this.loop('liveness', livenessProbe) : null]);
  }

  /** Probe until stopped. Startup resolves true at its first success; false when stopped or failed. */
  private async loop(kind: 'startup' | 'readiness' | 'liveness', probe: V1Probe): Promise<boolean> {
    const t = probeTiming(probe);
    const cap = (ms: number) => (this.periodCapMs !== undefined ? Math.min(this.periodCapMs, ms) : ms);
    let successes = 0;
    let failures = 0;
    if (t.initialDelayMs > 0 && !(await this.pause(cap(t.initialDelayMs)))) return false;
    while (!this.stopped) {
      const ok = await runProbe(probe, this.target);
      if (this.stopped) return false;
      successes = ok ? successes + 1 : 0;
      failures = ok ? 0 : failures + 1;
      if (kind === 'startup' && ok) return true;
      if (kind === 'readiness') {
        if (ok && successes >= t.successThreshold && !this.isReady) this.setReady(true);
        if (!ok && failures >= t.failureThreshold && this.isReady) this.setReady(false);
      } else if (!ok && failures >= t.failureThreshold) {
        this.events.failed(kind, failures);
        return false;
      }
      if (!(await this.pause(cap(t.periodMs)))) return false;
    }
    return false;
  }

  private setReady(ready: boolean): void {
    this.isReady = ready;
    this.events.ready(ready);
  }

  /** Sleep unless stopped; false when stopped. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal, ref: false });
      return true;
    } catch {
      return false;
    }
  }
}
