/**
 * An informer (client-node ListWatch) that does not stay dead: @kubernetes/client-node stops an
 * informer on a watch error and its watches can stall silently, so this one restarts after an
 * error (exponential backoff), re-lists every `resyncMs` (stop + start: a fresh list, then a new
 * watch) and restarts when no event or connect was seen for `stallMs` (the watchdog). `synced` is
 * true once the first list succeeded.
 */
import { type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, makeInformer, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  log: Logger;
  /** Default 300000 ms. */
  resyncMs?: number;
  /** Default 600000 ms. */
  stallMs?: number;
  /** Default 200 ms, doubling to 30000 ms. */
  restartDelayMs?: number;
  /** Called after every (re)list with every object, so the controller re-enqueues them. */
  onResync?: (objects: readonly T[]) => void;
  /** Called on every restart with its reason (for a metric). */
  onRestart?: (reason: InformerRestartReason) => void;
}

/** Why an informer was restarted: periodic re-list, watchdog, or an error of list/watch. */
export const INFORMER_RESTART_REASONS = ['resync', 'stalled', 'error'] as const;
export type InformerRestartReason = (typeof INFORMER_RESTART_REASONS)[number];

export class ResilientInformer<T extends KubernetesObject> {
  readonly informer: Informer<T> & ObjectCache<T>;
  synced = false;
  private lastActivity = Date.now();
  private stopped = true;
  private failures = 0;
  private timers: NodeJS.Timeout[] = [];
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ResilientInformerOptions<T>) {
    this.informer = makeInformer(opts.kc, opts.path, opts.list, opts.labelSelector);
    const touch = () => {
      this.lastActivity = Date.now();
    };
    this.informer.on('add', touch);
    this.informer.on('update', touch);
    this.informer.on('delete', touch);
    this.informer.on('connect', touch);
    this.informer.on('error', (err) => {
      if (this.stopped) return;
      opts.log.warn({ err, path: opts.path }, 'informer stopped by an error; restarting');
      this.scheduleRestart();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.startOnce();
    if (this.stopped) {
      await this.informer.stop(); // stopped while listing (a leader that lost its Lease)
      return;
    }
    const resyncMs = this.opts.resyncMs ?? 300_000;
    const stallMs = this.opts.stallMs ?? 600_000;
    const resync = setInterval(() => void this.restart('resync'), resyncMs);
    const watchdog = setInterval(() => {
      if (Date.now() - this.lastActivity > stallMs) void this.restart('stalled');
    }, Math.min(stallMs, 30_000));
    resync.unref();
    watchdog.unref();
    this.timers = [resync, watchdog];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private async startOnce(): Promise<void> {
    try {
      await this.informer.start();
      this.synced = true;
      this.failures = 0;
      this.lastActivity = Date.now();
      this.opts.onResync?.(this.informer.list());
    } catch (err) {
      this.opts.log.warn({ err, path: this.opts.path }, 'informer list failed; retrying');
      this.scheduleRestart();
    }
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    const base = this.opts.restartDelayMs ?? 200;
    const delay = Math.min(30_000, base * 2 ** Math.min(this.failures, 10));
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart('error');
    }, delay);
    this.restartTimer.unref();
  }

  private async restart(why: InformerRestartReason): Promise<void> {
    if (this.stopped) return;
    this.opts.onRestart?.(why);
    if (why === 'stalled') this.opts.log.warn({ path: this.opts.path }, 'informer watch silent for too long; re-listing');
    else this.opts.log.debug({ path: this.opts.path, why }, 'informer re-list');
    try {
      await this.informer.stop();
    } catch {
      // already stopped
    }
    if (!this.stopped) await this.startOnce();
  }
}
