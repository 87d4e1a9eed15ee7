/**
 * The logic membership document from a ConfigMap, watched through the Kubernetes API with the
 * gate's own ServiceAccount (IMGROUP_MEMBERSHIP_CONFIGMAP=<namespace>/<name>): the API half of
 * MembershipSource, with the same contract as MembershipFile — a valid new version → onChange;
 * an invalid document, a missing key, a missing or deleted ConfigMap, an API failure → logged,
 * counted (onError) and the current membership stays in force.
 *
 * The list-watch loop is runtime/kube/list-watch.ts (resume from the last resourceVersion,
 * bookmarks, 410 Gone → list again, backoff, the watchdog that restarts a watch silent for
 * `stallMs`); this file turns what it reports into membership changes and counted failures.
 */
import type { MembershipDocument } from '../protocol/membership.js';
import type { Logger } from '../ops/logger.js';
import { describeApiError } from '../kube/api-error.js';
import { ListWatch, type ListWatchApi, type ObjectEventType } from '../kube/list-watch.js';
import { objectName, objectResourceVersion } from '../kube/object-meta.js';
import { membershipFromConfigMap } from './membership-configmap-document.js';
import { type ConfigMapRef, formatConfigMapRef } from './membership-configmap-ref.js';
import type { MembershipSource, MembershipSourceHooks } from './membership-source.js';
import { applyMembership } from './membership-apply.js';

export interface MembershipConfigMapOptions extends MembershipSourceHooks {
  ref: ConfigMapRef;
  /** List and watch of the ConfigMap's collection with the name's field selector (membership-configmap-api.ts). */
  api: ListWatchApi;
  /** A watch with no event (bookmarks count) for this long is restarted. */
  stallMs: number;
  /** Shortest retry delay after a failure; the window doubles up to retryMaxMs. Default 200 ms. */
  retryBaseMs?: number;
  /** Default 5000 ms. */
  retryMaxMs?: number;
}

export class MembershipConfigMap implements MembershipSource {
  private current: MembershipDocument | null = null;
  /** Identity of the last object-level failure reported (resourceVersion-bound), to count each once. */
  private lastObjectFailure: string | null = null;
  /** The last API failure reported; repeats while retrying are not counted again. */
  private lastApiFailure: string | null = null;
  private readonly listWatch: ListWatch;
  private readonly log: Logger;
  private readonly where: string;

  constructor(private readonly opts: MembershipConfigMapOptions) {
    this.where = formatConfigMapRef(opts.ref);
    this.log = opts.log.child({ component: 'membership-configmap', configMap: this.where });
    this.listWatch = new ListWatch({
      api: opts.api,
      log: this.log,
      name: 'membership',
      stallMs: opts.stallMs,
      backoff: { minMs: opts.retryBaseMs ?? 200, maxMs: opts.retryMaxMs ?? 5000 },
      hooks: {
        onList: (items) => this.onList(items),
        onEvent: (type, obj) => this.onEvent(type, obj),
        onConnect: () => {
          this.lastApiFailure = null;
        },
        onFailure: (stage, err) => this.apiFailure(stage, err),
      },
    });
  }

  /** The document in force (null until a valid one was seen). */
  get document(): MembershipDocument | null {
    return this.current;
  }

  /** List once (a failure is logged, not thrown, and retried in the background), then watch. */
  async start(): Promise<void> {
    await this.listWatch.start();
  }

  stop(): void {
    this.listWatch.stop();
  }

  private onList(items: readonly unknown[]): void {
    this.lastApiFailure = null;
    const own = items.find((item) => objectName(item) === this.opts.ref.name);
    if (own === undefined) this.objectFailure('absent', `ConfigMap ${this.where} does not exist`);
    else this.consider(own);
  }

  private onEvent(type: ObjectEventType, obj: unknown): void {
    if (objectName(obj) !== this.opts.ref.name) return;
    if (type === 'DELETED') this.objectFailure(`deleted:${objectResourceVersion(obj) ?? '?'}`, `ConfigMap ${this.where} was deleted`);
    else this.consider(obj);
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
