/**
 * A ListWatchApi (runtime/kube/list-watch.ts) whose every list and watch the test answers: for the
 * recovery paths of the list-watch loop that a real API server does not produce on demand (410
 * Gone as an event and as a status, ERROR events, a watch that never answers). Each call is
 * recorded; `nthList` / `nthWatch` wait for it without polling a clock.
 */
import type { ListResult, ListWatchApi, WatchEventHandler } from '../../runtime/kube/list-watch.js';
import { ChangeSignal } from './change-signal.js';

/** One call of the scripted API; the test drives its events and its end. */
export interface WatchCall {
  resourceVersion: string;
  emit: WatchEventHandler;
  done: (err: unknown) => void;
  stopped: boolean;
  /** Let the watch request succeed; resolves once the source has seen the answer. */
  answer: () => Promise<void>;
}

export class ScriptedListWatchApi implements ListWatchApi {
  lists: Array<{ resolve: (r: ListResult) => void; reject: (e: unknown) => void }> = [];
  watches: WatchCall[] = [];
  private readonly signal = new ChangeSignal();

  list(): Promise<ListResult> {
    return new Promise((resolve, reject) => {
      this.lists.push({ resolve, reject });
      this.signal.notify();
    });
  }

  watch(resourceVersion: string, emit: WatchEventHandler, done: (err: unknown) => void): Promise<() => void> {
    return new Promise((resolve) => {
      const call: WatchCall = {
        resourceVersion,
        emit,
        done,
        stopped: false,
        answer: () => {
          resolve(() => {
            call.stopped = true;
          });
          return new Promise((r) => setImmediate(r));
        },
      };
      this.watches.push(call);
      this.signal.notify();
    });
  }

  until(cond: () => boolean): Promise<void> {
    return this.signal.until(cond);
  }

  async nthList(n: number) {
    await this.until(() => this.lists.length >= n);
    return this.lists[n - 1]!;
  }

  async nthWatch(n: number): Promise<WatchCall> {
    await this.until(() => this.watches.length >= n);
    return this.watches[n - 1]!;
  }
}
