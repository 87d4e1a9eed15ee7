/**
 * The logic membership document from a ConfigMap, watched through the Kubernetes API with the
 * gate's own ServiceAccount (IMGROUP_MEMBERSHIP_CONFIGMAP=<namespace>/<name>): the API half of
 * MembershipSource, with the same contract as MembershipFile — a valid new version → onChange;
 * an invalid document, a missing key, a missing or deleted ConfigMap, an API failure → logged,
 * counted (onError) and the current membership stays in force.
 *
 * List once (resourceVersion R), then watch from R with bookmarks. Every event advances R, so a
 * watch that ends — closed by the server after its timeout, broken, or restarted — resumes from
 * R without a new list. 410 Gone (R too old, as an HTTP status or an ERROR event) → list again.
 * Failures retry with jittered exponential backoff. client-node watches can stall silently (a
 * half-open connection delivers nothing, forever), so a watchdog restarts a watch that has shown
 * no sign of life — no event, not even a BOOKMARK (the API server sends one about every minute)
 * — for `stallMs`.
 */
import type { MembershipDocument } from '../protocol/membership.js';
import type { Logger } from '../ops/logger.js';
import { type ConfigMapWatchApi, describeApiError, httpStatusOf } from './membership-configmap-api.js';
import { membershipFromConfigMap, objectName, objectResourceVersion } from './membership-configmap-document.js';
import { type ConfigMapRef, formatConfigMapRef } from './membership-configmap-ref.js';
import type { MembershipSourceHooks } from './membership-source.js';
import { applyMembership } from './membership-apply.js';

export interface MembershipConfigMapOptions extends MembershipSourceHooks {
  ref: ConfigMapRef;
  api: ConfigMapWatchApi;
  /** A watch with no event (bookmarks count) for this long is restarted. */
  stallMs: number;
  /** First retry delay after a failure; doubles up to retryMaxMs. Default 200 ms. */
  retryBaseMs?: number;
  /** Default 5000 ms. */
  retryMaxMs?: number;
}

type Phase = 'idle' | 'listing' | 'connecting' | 'watching' | 'waiting' | 'stopped';

/** A watch closed by the server sooner than this, without any event, counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1000;
const HTTP_GONE = 410;

export class MembershipConfigMap {
  private current: MembershipDocument | null = null;
  /** Where the next watch resumes; null → list first. */
  private resourceVersion: string | null = null;
  private phase: Phase = 'idle';
  /** Bumped whenever a watch ends or is abandoned: callbacks of older watches are ignored. */
  private generation = 0;
  private stopWatch: (() => void) | null = null;
  private watchStartedMs = 0;
  private watchEvents = 0;
  private lastActivityMs = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** Identity of the last object-level failure reported (resourceVersion-bound), to count each once. */
  private lastObjectFailure: string | null = null;
  /** The last API failure reported; repeats while retrying are not counted again. */
  private lastApiFailure: string | null = null;
  private readonly log: Logger;
  private readonly where: string;

  constructor(private readonly opts: MembershipConfigMapOptions) {
    this.where = formatConfigMapRef(opts.ref);
    this.log = opts.log.child({ component: 'membership-configmap', configMap: this.where });
  }

  /** The document in force (null until a valid one was seen). */
  get document(): MembershipDocument | null {
    return this.current;
  }

  /** List once (a failure is logged, not thrown, and retried in the background), then watch. */
  async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    const checkMs = Math.max(100, Math.min(5000, Math.floor(this.opts.stallMs / 4)));
    this.watchdog = setInterval(() => this.checkStall(), checkMs);
    this.watchdog.unref();
    await this.run();
  }

  stop(): void {
    this.phase = 'stopped';
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.endWatch();
  }

  private get stopped(): boolean {
    return this.phase === 'stopped';
  }

  /** (Re)start: list when there is no resourceVersion to resume from, then watch. Never rejects. */
  private async run(): Promise<void> {
    try {
      if (this.stopped) return;
      if (this.resourceVersion === null && !(await this.list())) {
        this.retryLater();
        return;
      }
      if (!this.stopped) this.startWatch();
    } catch (err) {
      this.log.error({ err }, 'membership watch loop failed; retrying');
      this.retryLater();
    }
  }

  private async list(): Promise<boolean> {
    this.phase = 'listing';
    let result;
    try {
      result = await this.opts.api.list();
    } catch (err) {
      if (!this.stopped) this.apiFailure('list', err);
      return false;
    }
    if (this.stopped) return false;
    const items = Array.isArray(result.items) ? result.items : [];
    const own = items.find((item) => objectName(item) === this.opts.ref.name);
    if (typeof result.resourceVersion !== 'string' || result.resourceVersion.length === 0 || result.resourceVersion.length > 64) {
      this.apiFailure('list', new Error('the list carried no usable resourceVersion'));
      return false;
    }
    this.lastApiFailure = null;
    this.resourceVersion = result.resourceVersion;
    if (own === undefined) this.objectFailure('absent', `ConfigMap ${this.where} does not exist`);
    else this.consider(own);
    return true;
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
        this.lastApiFailure = null;
        this.log.debug({ resourceVersion: from }, 'membership watch connected');
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
          if (rv) this.resourceVersion = rv;
          this.failures = 0;
          if (objectName(obj) === this.opts.ref.name) this.consider(obj);
          return;
        case 'DELETED':
          if (rv) this.resourceVersion = rv;
          if (objectName(obj) === this.opts.ref.name) this.objectFailure(`deleted:${rv ?? '?'}`, `ConfigMap ${this.where} was deleted`);
          return;
        case 'BOOKMARK':
          if (rv) this.resourceVersion = rv;
          this.failures = 0;
          return;
        case 'ERROR':
          this.onWatchError(obj);
          return;
        default:
          this.log.debug({ type }, 'membership watch event of an unknown type ignored');
      }
    } catch (err) {
      this.log.error({ err }, 'membership watch event could not be handled');
    }
  }

  /** An ERROR event carries a Status: 410 → list again at once; anything else → retry later. */
  private onWatchError(status: unknown): void {
    const s = (typeof status === 'object' && status !== null ? status : {}) as { code?: unknown; message?: unknown };
    this.endWatch();
    if (s.code === HTTP_GONE) {
      this.log.info({ resourceVersion: this.resourceVersion }, 'membership watch expired (410 Gone); listing again');
      this.resourceVersion = null;
      void this.run();
      return;
    }
    const message = typeof s.message === 'string' ? s.message.slice(0, 300) : 'no message';
    this.apiFailure('watch', new Error(`ERROR event ${typeof s.code === 'number' ? s.code : '?'}: ${message}`));
    this.retryLater();
  }

  private onDone(gen: number, err: unknown): void {
    if (gen !== this.generation || this.stopped) return;
    try {
      this.watchEnded(err);
    } catch (e) {
      this.log.error({ err: e }, 'membership watch end could not be handled; retrying');
      this.retryLater();
    }
  }

  private watchEnded(err: unknown): void {
    this.endWatch();
    if (httpStatusOf(err) === HTTP_GONE) {
      this.log.info({ resourceVersion: this.resourceVersion }, 'membership watch refused (410 Gone); listing again');
      this.resourceVersion = null;
      void this.run();
      return;
    }
    if (err === null || err === undefined) {
      // Closed by the server (its timeoutSeconds) or a proxy: resume from the last resourceVersion.
      if (this.watchEvents > 0 || Date.now() - this.watchStartedMs >= MIN_HEALTHY_WATCH_MS) {
        this.failures = 0;
        this.log.debug({ resourceVersion: this.resourceVersion }, 'membership watch closed by the server; resuming');
        void this.run();
      } else {
        this.apiFailure('watch', new Error('closed by the server at once'));
        this.retryLater();
      }
      return;
    }
    this.apiFailure('watch', err);
    this.retryLater();
  }

  private checkStall(): void {
    if (this.phase !== 'connecting' && this.phase !== 'watching') return;
    const silentMs = Date.now() - this.lastActivityMs;
    if (silentMs <= this.opts.stallMs) return;
    this.log.warn({ silentMs, phase: this.phase, resourceVersion: this.resourceVersion }, 'membership watch silent for too long; restarting it');
    this.endWatch();
    void this.run();
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.phase = 'waiting';
    const base = this.opts.retryBaseMs ?? 200;
    const max = this.opts.retryMaxMs ?? 5000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.failures, 16));
    this.failures++;
    // Jitter (half to all of the ceiling): gates restarted together do not retry in step.
    const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.run();
    }, delayMs);
    this.retryTimer.unref();
  }

  /** A ConfigMap object from a list or an event: apply its document when valid and new. */
  private consider(obj: unknown): void {
    const parsed = membershipFromConfigMap(obj);
    if (!parsed.ok) {
      this.objectFailure(`invalid:${objectResourceVersion(obj) ?? '?'}`, parsed.error);
      return;
    }
    this.lastObjectFailure = null;
    this.current = applyMembership(this.current, parsed.doc, (d) => this.opts.onChange(d), this.log);
  }

  /** The ConfigMap is missing, deleted or invalid: keep the current membership, report once per object version. */
  private objectFailure(identity: string, message: string): void {
    if (identity === this.lastObjectFailure) return;
    this.lastObjectFailure = identity;
    this.log.error({ error: message, keeping: this.current?.version ?? null }, 'unusable membership ConfigMap; keeping the current membership');
    this.report(message);
  }

  /** The API could not be read: log and count the first of a run of equal failures. */
  private apiFailure(what: 'list' | 'watch', err: unknown): void {
    const message = `membership ${what} of ConfigMap ${this.where} failed: ${describeApiError(err)}`;
    if (message === this.lastApiFailure) {
      this.log.debug({ error: message }, 'membership API still failing; retrying');
      return;
    }
    this.lastApiFailure = message;
    this.log.warn({ error: message, keeping: this.current?.version ?? null }, 'membership API failure; keeping the current membership and retrying');
    this.report(message);
  }

  private report(message: string): void {
    try {
      this.opts.onError?.(message);
    } catch (err) {
      this.log.error({ err }, 'membership error hook failed');
    }
  }
}
