/**
 * The one list-watch loop of imgroup (client-go calls it a reflector): the gate's membership
 * ConfigMap and every operator informer (informer.ts) follow the API server through it.
 *
 * List once (resourceVersion R), then watch from R with bookmarks. Every event advances R, so a
 * watch that ends — closed by the server after its timeout, broken, or restarted — resumes from R
 * without a new list. 410 Gone (R too old, as an HTTP status or an ERROR event) → list again.
 * Failures are retried after a delay from the one backoff (runtime/retry/backoff.ts).
 * client-node watches can stall silently (a half-open connection delivers nothing, forever), so a
 * watchdog restarts a watch that has shown no sign of life — no event, not even a BOOKMARK (the
 * API server sends one about every minute) — for `stallMs`. With `resyncMs`, a healthy watch is
 * also replaced by a fresh list every `resyncMs`, which catches anything a watch could have missed.
 *
 * What the loop learns goes to its hooks (`ListWatchHooks`); a hook that throws is logged and the
 * loop goes on.
 */
import type { Logger } from '../ops/logger.js';
import { Backoff, type BackoffBounds } from '../retry/backoff.js';
import { HTTP_GONE, httpStatusOf } from './api-error.js';
import { isResourceVersion, objectResourceVersion } from './object-meta.js';

export interface ListResult {
  /** resourceVersion of the list: where the watch resumes. */
  resourceVersion: string | undefined;
  items: readonly unknown[];
}

/** `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; `object` is the raw JSON object. */
export type WatchEventHandler = (type: string, object: unknown) => void;

/** The two API calls the loop makes; client-list-watch-api.ts implements them with client-node. */
export interface ListWatchApi {
  /** One list. Rejects on any failure (HTTP status in `code`/`statusCode`). */
  list(): Promise<ListResult>;
  /**
   * Watch from `resourceVersion` (bookmarks on). Resolves with a stop function once the API server
   * answered; `onDone` is called once when the watch ends (null: closed by the server).
   */
  watch(resourceVersion: string, onEvent: WatchEventHandler, onDone: (err: unknown) => void): Promise<() => void>;
}

/** Why the loop started over (a metric label): periodic re-list, watchdog, or after a failure. */
export const LIST_WATCH_RESTART_REASONS = ['resync', 'stalled', 'error'] as const;
export type ListWatchRestartReason = (typeof LIST_WATCH_RESTART_REASONS)[number];

/** A change of one object, as a watch reports it. */
export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchHooks {
  /** A list succeeded: every object there is (with the list's selectors) at `resourceVersion`. */
  onList(items: readonly unknown[], resourceVersion: string): void;
  /** One object changed, in the order of the watch. */
  onEvent(type: ObjectEventType, object: unknown): void;
  /** The API server answered a watch request. */
  onConnect?(): void;
  /** A list or a watch failed; the loop retries after a backoff delay. */
  onFailure?(stage: 'list' | 'watch', err: unknown): void;
  /** The loop starts over (a re-list or a new watch), with its reason. */
  onRestart?(reason: ListWatchRestartReason): void;
}

export interface ListWatchOptions {
  api: ListWatchApi;
  hooks: ListWatchHooks;
  log: Logger;
  /** What is watched, first word of the log messages ("membership" → "membership watch connected"). */
  name: string;
  /** A watch with no sign of life (an event, bookmarks included) for this long, in ms, is restarted. */
  stallMs: number;
  /** Replace the watch by a fresh list every this many ms. Default: never (only after 410 Gone). */
  resyncMs?: number | undefined;
  /** Delay before each retry after a failure (the user's own bounds). */
  backoff: BackoffBounds;
}

type Phase = 'idle' | 'listing' | 'connecting' | 'watching' | 'waiting' | 'stopped';
type ListOutcome = 'listed' | 'failed' | 'abandoned';

/** A watch closed by the server sooner than this, without any event, counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1000;
/** The watchdog looks this often: a quarter of the stall bound, within these limits. */
const WATCHDOG_CHECK_MS = { min: 100, max: 5000 } as const;

export class ListWatch {
  /** Where the next watch resumes; null → list first. */
  private resourceVersion: string | null = null;
  private phase: Phase = 'idle';
  /** Bumped whenever a watch ends or is abandoned (and on stop): callbacks of older ones are ignored. */
  private generation = 0;
  private stopWatch: (() => void) | null = null;
  private watchStartedMs = 0;
  private watchEvents = 0;
  private lastActivityMs = 0;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly hooks: ListWatchHooks;
  private readonly log: Logger;
  private readonly name: string;

  constructor(private readonly opts: ListWatchOptions) {
    this.hooks = opts.hooks;
    this.log = opts.log;
    this.name = opts.name;
    this.backoff = new Backoff(opts.backoff);
  }

  /**
   * List once (a failure is reported, not thrown, and retried in the background), then watch.
   * Resolves after that first list, successful or not. After stop(), starts again from where it was.
   */
  async start(): Promise<void> {
    if (this.phase !== 'idle' && this.phase !== 'stopped') return;
    this.phase = 'idle';
    const checkMs = Math.max(WATCHDOG_CHECK_MS.min, Math.min(WATCHDOG_CHECK_MS.max, Math.floor(this.opts.stallMs / 4)));
    this.watchdog = setInterval(() => this.checkStall(), checkMs);
    this.watchdog.unref();
    if (this.opts.resyncMs !== undefined) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
      this.resyncTimer.unref();
    }
    await this.run();
  }

  stop(): void {
    this.phase = 'stopped';
    for (const t of [this.watchdog, this.resyncTimer]) if (t) clearInterval(t);
    this.watchdog = this.resyncTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.endWatch();
  }

  private get stopped(): boolean {
    return this.phase === 'stopped';
  }

  /** (Re)start: list when there is no resourceVersion to resume from, then watch. Never rejects. */
  private async run(): Promise<void> {
    const gen = this.generation;
    try {
      if (this.stopped) return;
      if (this.resourceVersion === null) {
        const outcome = await this.list(gen);
        if (outcome === 'abandoned') return;
        if (outcome === 'failed') {
          this.retryLater();
          return;
        }
      }
      if (!this.stopped && gen === this.generation) this.startWatch();
    } catch (err) {
      if (this.stopped || gen !== this.generation) return;
      this.log.error({ err }, `${this.name} watch loop failed; retrying`);
      this.retryLater();
    }
  }

  private async list(gen: number): Promise<ListOutcome> {
    this.phase = 'listing';
    let result: ListResult;
    try {
      result = await this.opts.api.list();
    } catch (err) {
      if (this.stopped || gen !== this.generation) return 'abandoned';
      this.failure('list', err);
      return 'failed';
    }
    if (this.stopped || gen !== this.generation) return 'abandoned';
    if (!isResourceVersion(result.resourceVersion)) {
      this.failure('list', new Error('the list carried no usable resourceVersion'));
      return 'failed';
    }
    this.resourceVersion = result.resourceVersion;
    this.hooks.onList(Array.isArray(result.items) ? result.items : [], result.resourceVersion);
    return 'listed';
  }

  private startWatch(): void {
    const gen = ++this.generation;
    const from = this.resourceVersion as string;
    this.phase = 'connecting';
    this.watchStartedMs = this.lastActivityMs = Date.now();
    this.watchEvents = 0;
    const onDone = (err: unknown) => this.onDone(gen, err);
    let watching: Promise<() => void>;
    try {
      watching = this.opts.api.watch(from, (type, obj) => this.onEvent(gen, type, obj), onDone);
    } catch (err) {
      onDone(err);
      return;
    }
    watching.then(
      (stop) => {
        if (gen !== this.generation || this.stopped) {
          stop();
          return;
        }
        this.stopWatch = stop;
        this.lastActivityMs = Date.now();
        if (this.phase === 'connecting') this.phase = 'watching';
        this.log.debug({ resourceVersion: from }, `${this.name} watch connected`);
        this.call(() => this.hooks.onConnect?.());
      },
      onDone,
    );
  }

  /** Abandon the current watch (if any): its late callbacks are ignored from now on. */
  private endWatch(): void {
    this.generation++;
    const stop = this.stopWatch;
    this.stopWatch = null;
    try {
      stop?.();
    } catch {
      // already closed
    }
  }

  private onEvent(gen: number, type: string, obj: unknown): void {
    if (gen !== this.generation || this.stopped) return;
    try {
      this.lastActivityMs = Date.now();
      this.phase = 'watching';
      this.watchEvents++;
      const rv = objectResourceVersion(obj);
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
        case 'DELETED':
          if (rv) this.resourceVersion = rv;
          this.backoff.reset();
          this.hooks.onEvent(type, obj);
          return;
        case 'BOOKMARK':
          if (rv) this.resourceVersion = rv;
          this.backoff.reset();
          return;
        case 'ERROR':
          this.onWatchError(obj);
          return;
        default:
          this.log.debug({ type }, `${this.name} watch event of an unknown type ignored`);
      }
    } catch (err) {
      this.log.error({ err }, `${this.name} watch event could not be handled`);
    }
  }

  /** An ERROR event carries a Status: 410 → list again at once; anything else → retry later. */
  private onWatchError(status: unknown): void {
    const s = (typeof status === 'object' && status !== null ? status : {}) as { code?: unknown; message?: unknown };
    this.endWatch();
    if (s.code === HTTP_GONE) {
      this.log.info({ resourceVersion: this.resourceVersion }, `${this.name} watch expired (410 Gone); listing again`);
      this.resourceVersion = null;
      void this.run();
      return;
    }
    const message = typeof s.message === 'string' ? s.message.slice(0, 300) : 'no message';
    this.failure('watch', new Error(`ERROR event ${typeof s.code === 'number' ? s.code : '?'}: ${message}`));
    this.retryLater();
  }

  private onDone(gen: number, err: unknown): void {
    if (gen !== this.generation || this.stopped) return;
    try {
      this.watchEnded(err);
    } catch (e) {
      this.log.error({ err: e }, `${this.name} watch end could not be handled; retrying`);
      this.retryLater();
    }
  }

  private watchEnded(err: unknown): void {
    this.endWatch();
    if (httpStatusOf(err) === HTTP_GONE) {
      this.log.info({ resourceVersion: this.resourceVersion }, `${this.name} watch refused (410 Gone); listing again`);
      this.resourceVersion = null;
      void this.run();
      return;
    }
    if (err === null || err === undefined) {
      // Closed by the server (its timeoutSeconds) or a proxy: resume from the last resourceVersion.
      if (this.watchEvents > 0 || Date.now() - this.watchStartedMs >= MIN_HEALTHY_WATCH_MS) {
        this.backoff.reset();
        this.log.debug({ resourceVersion: this.resourceVersion }, `${this.name} watch closed by the server; resuming`);
        void this.run();
      } else {
        this.failure('watch', new Error('closed by the server at once'));
        this.retryLater();
      }
      return;
    }
    this.failure('watch', err);
    this.retryLater();
  }

  private checkStall(): void {
    if (this.phase !== 'connecting' && this.phase !== 'watching') return;
    const silentMs = Date.now() - this.lastActivityMs;
    if (silentMs <= this.opts.stallMs) return;
    this.log.warn({ silentMs, phase: this.phase, resourceVersion: this.resourceVersion }, `${this.name} watch silent for too long; restarting it`);
    this.restart('stalled');
  }

  /** A fresh list in place of a healthy watch; a list or a retry under way is left alone. */
  private resync(): void {
    if (this.phase !== 'connecting' && this.phase !== 'watching') return;
    this.log.debug({ resourceVersion: this.resourceVersion }, `${this.name} periodic re-list`);
    this.resourceVersion = null;
    this.restart('resync');
  }

  private restart(reason: ListWatchRestartReason): void {
    this.endWatch();
    this.call(() => this.hooks.onRestart?.(reason));
    void this.run();
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.phase = 'waiting';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.call(() => this.hooks.onRestart?.('error'));
      void this.run();
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  private failure(stage: 'list' | 'watch', err: unknown): void {
    this.call(() => this.hooks.onFailure?.(stage, err));
  }

  /** A hook's failure is logged and never breaks the loop. */
  private call(hook: () => void): void {
    try {
      hook();
    } catch (err) {
      this.log.error({ err }, `${this.name} watch hook failed`);
    }
  }
}
