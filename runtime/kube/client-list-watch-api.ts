/**
 * The list-watch loop's two API calls (ListWatchApi) through @kubernetes/client-node: the list
 * is the caller's typed client-node call, the watch a `Watch` of the same collection path with the
 * same selectors, bookmarks on, resumed from a resourceVersion, and ended by the API server after
 * a random 5-10 minutes (as client-go's reflector asks), after which the loop resumes it at once.
 *
 * `Watch` takes no request deadline (a KubeConfig's deadline applies to API requests only): the
 * loop's watchdog covers a watch that goes silent.
 */
import { randomInt } from 'node:crypto';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import type { ListResult, ListWatchApi, WatchEventHandler } from './list-watch.js';

/** Range of the server-side watch timeout, in seconds, drawn anew for every watch. */
export const WATCH_TIMEOUT_SECONDS = { min: 300, max: 600 } as const;

/** What a typed client-node list call returns, as far as the loop reads it. */
export interface ListResponse {
  metadata?: { resourceVersion?: string | undefined } | undefined;
  items: readonly unknown[];
}

export interface ClientListWatchApiOptions {
  /** The collection's path, e.g. `/api/v1/namespaces/<ns>/pods`. */
  path: string;
  /** The list, with the same selectors as below (e.g. `core.listNamespacedPod({ namespace, labelSelector })`). */
  list: () => Promise<ListResponse>;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Seconds after which the API server ends a watch. Default: random within WATCH_TIMEOUT_SECONDS. */
  watchTimeoutSeconds?: () => number;
}

export class ClientListWatchApi implements ListWatchApi {
  private readonly watcher: Watch;

  constructor(
    kc: KubeConfig,
    private readonly opts: ClientListWatchApiOptions,
  ) {
    this.watcher = new Watch(kc);
  }

  async list(): Promise<ListResult> {
    const res = await this.opts.list();
    return { resourceVersion: res.metadata?.resourceVersion, items: Array.isArray(res.items) ? res.items : [] };
  }

  async watch(resourceVersion: string, onEvent: WatchEventHandler, onDone: (err: unknown) => void): Promise<() => void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds?.() ?? randomInt(WATCH_TIMEOUT_SECONDS.min, WATCH_TIMEOUT_SECONDS.max + 1);
    const controller = await this.watcher.watch(
      this.opts.path,
      {
        ...(this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {}),
        ...(this.opts.fieldSelector !== undefined ? { fieldSelector: this.opts.fieldSelector } : {}),
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (type: string, object: unknown) => onEvent(type, object),
      (err: unknown) => onDone(err ?? null),
    );
    return () => controller.abort();
  }
}
