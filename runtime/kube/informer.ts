/**
 * An informer: the objects of one collection kept in memory by the list-watch loop (list-watch.ts),
 * with add / update / delete callbacks — client-node's `Informer` and `ObjectCache` interfaces, so
 * code written against client-node's informer reads it unchanged.
 *
 * A list replaces the cache: objects gone from it are reported deleted, new ones added, changed
 * ones (another resourceVersion) updated; then `onResync` gets every object (a controller
 * re-enqueues them all). Watch events update the cache one object at a time. `synced` turns true
 * with the first successful list. Objects come from the API server and are checked for a name
 * before they are cached; a callback that throws is logged and the others still run.
 */
import type { ADD, CHANGE, CONNECT, DELETE, ERROR, ErrorCallback, Informer, KubernetesObject, ObjectCache, ObjectCallback, UPDATE } from '@kubernetes/client-node';
import type { Logger } from '../ops/logger.js';
import type { BackoffBounds } from '../retry/backoff.js';
import { ListWatch, type ListWatchApi, type ListWatchRestartReason, type ObjectEventType } from './list-watch.js';
import { objectName, objectNamespace, objectResourceVersion } from './object-meta.js';

export interface KubeInformerOptions<T extends KubernetesObject> {
  api: ListWatchApi;
  log: Logger;
  /** First word of the log messages. Default "informer". */
  name?: string;
  /** Restart a watch without any event (bookmarks count) for this long, in ms. */
  stallMs: number;
  /** Re-list every this many ms (undefined: only when the API server asks, 410 Gone). */
  resyncMs?: number | undefined;
  /** Delay before each retry after a failed list or watch. */
  backoff: BackoffBounds;
  /** Called after every list with every object, so a controller re-enqueues them. */
  onResync?: (objects: readonly T[]) => void;
  /** Called on every restart with its reason (for a metric). */
  onRestart?: (reason: ListWatchRestartReason) => void;
}

type ObjectVerb = ADD | UPDATE | DELETE;

export class KubeInformer<T extends KubernetesObject> implements Informer<T>, ObjectCache<T> {
  /** namespace ('' for cluster-scoped objects) → name → object. */
  private objects = new Map<string, Map<string, T>>();
  private readonly objectCallbacks: Record<ObjectVerb, ObjectCallback<T>[]> = { add: [], update: [], delete: [] };
  private readonly errorCallbacks: Record<ERROR | CONNECT, ErrorCallback[]> = { error: [], connect: [] };
  private readonly listWatch: ListWatch;
  private hasListed = false;
  private readonly log: Logger;

  constructor(private readonly opts: KubeInformerOptions<T>) {
    this.log = opts.log;
    const name = opts.name ?? 'informer';
    this.listWatch = new ListWatch({
      api: opts.api,
      log: opts.log,
      name,
      stallMs: opts.stallMs,
      resyncMs: opts.resyncMs,
      backoff: opts.backoff,
      hooks: {
        onList: (items) => this.replace(items),
        onEvent: (type, obj) => this.apply(type, obj),
        onConnect: () => this.emitError('connect', undefined),
        onFailure: (stage, err) => {
          opts.log.warn({ err, stage }, `${name} ${stage} failed; retrying`);
          this.emitError('error', err);
        },
        onRestart: (reason) => opts.onRestart?.(reason),
      },
    });
  }

  /** True once a list succeeded: the cache holds the whole collection. */
  get synced(): boolean {
    return this.hasListed;
  }

  /** List (resolves after the first attempt, successful or not), then watch, until stop(). */
  async start(): Promise<void> {
    await this.listWatch.start();
  }

  async stop(): Promise<void> {
    this.listWatch.stop();
  }

  on(verb: ADD | UPDATE | DELETE | CHANGE, cb: ObjectCallback<T>): void;
  on(verb: ERROR | CONNECT, cb: ErrorCallback): void;
  on(verb: ADD | UPDATE | DELETE | CHANGE | ERROR | CONNECT, cb: ObjectCallback<T> | ErrorCallback): void {
    if (verb === 'error' || verb === 'connect') this.errorCallbacks[verb].push(cb as ErrorCallback);
    else for (const v of verb === 'change' ? (['add', 'update', 'delete'] as const) : [verb]) this.objectCallbacks[v].push(cb as ObjectCallback<T>);
  }

  off(verb: ADD | UPDATE | DELETE | CHANGE, cb: ObjectCallback<T>): void;
  off(verb: ERROR | CONNECT, cb: ErrorCallback): void;
  off(verb: ADD | UPDATE | DELETE | CHANGE | ERROR | CONNECT, cb: ObjectCallback<T> | ErrorCallback): void {
    const remove = <F>(list: F[], f: F) => {
      const i = list.indexOf(f);
      if (i >= 0) list.splice(i, 1);
    };
    if (verb === 'error' || verb === 'connect') remove(this.errorCallbacks[verb], cb as ErrorCallback);
    else for (const v of verb === 'change' ? (['add', 'update', 'delete'] as const) : [verb]) remove(this.objectCallbacks[v], cb as ObjectCallback<T>);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? '')?.get(name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): ReadonlyArray<T> {
    if (namespace) return [...(this.objects.get(namespace)?.values() ?? [])];
    return [...this.objects.values()].flatMap((byName) => [...byName.values()]);
  }

  /** A list: the cache becomes exactly its items, each difference reported. */
  private replace(items: readonly unknown[]): void {
    const listed = new Map<string, Map<string, T>>();
    for (const item of items) {
      const name = objectName(item);
      if (name === undefined) continue;
      const namespace = objectNamespace(item);
      let byName = listed.get(namespace);
      if (!byName) listed.set(namespace, (byName = new Map()));
      byName.set(name, item as T);
    }
    for (const [namespace, byName] of this.objects) {
      for (const [name, old] of byName) if (!listed.get(namespace)?.has(name)) this.remove(namespace, name, old);
    }
    for (const byName of listed.values()) for (const obj of byName.values()) this.upsert(obj);
    this.hasListed = true;
    const all = this.list();
    try {
      this.opts.onResync?.(all);
    } catch (err) {
      this.log.error({ err }, 'informer resync hook failed');
    }
  }

  private apply(type: ObjectEventType, obj: unknown): void {
    const name = objectName(obj);
    if (name === undefined) {
      this.log.debug({ type }, 'watch event without an object name ignored');
      return;
    }
    if (type === 'DELETED') {
      const namespace = objectNamespace(obj);
      if (this.objects.get(namespace)?.has(name)) this.remove(namespace, name, obj as T);
    } else {
      this.upsert(obj as T);
    }
  }

  private upsert(obj: T): void {
    const namespace = objectNamespace(obj);
    const name = objectName(obj) as string;
    let byName = this.objects.get(namespace);
    if (!byName) this.objects.set(namespace, (byName = new Map()));
    const found = byName.get(name);
    if (found && objectResourceVersion(found) !== undefined && objectResourceVersion(found) === objectResourceVersion(obj)) return;
    byName.set(name, obj);
    this.emit(found ? 'update' : 'add', obj);
  }

  private remove(namespace: string, name: string, obj: T): void {
    const byName = this.objects.get(namespace);
    if (!byName?.delete(name)) return;
    if (byName.size === 0) this.objects.delete(namespace);
    this.emit('delete', obj);
  }

  private emit(verb: ObjectVerb, obj: T): void {
    for (const cb of this.objectCallbacks[verb].slice()) {
      try {
        cb(obj);
      } catch (err) {
        this.log.error({ err, verb }, 'informer callback failed');
      }
    }
  }

  private emitError(verb: ERROR | CONNECT, err: unknown): void {
    for (const cb of this.errorCallbacks[verb].slice()) {
      try {
        cb(err);
      } catch (e) {
        this.log.error({ err: e, verb }, 'informer callback failed');
      }
    }
  }
}
