/**
 * The list-watch loop against a scripted API: what it reports to its hooks, why it restarts (the
 * reasons the operator's metric counts), the periodic re-list and the retry delays of the one
 * backoff. The recovery paths a consumer sees (resume, 410 Gone, ERROR events, the watchdog) are
 * exercised through the gate's ConfigMap source in test/unit/gate/membership-configmap.test.ts.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LIST_WATCH_RESTART_REASONS, ListWatch, type ListWatchHooks, type ListWatchRestartReason } from '../../../runtime/kube/list-watch.js';
import { ScriptedListWatchApi } from '../../support/scripted-list-watch-api.js';

const log = pino({ level: 'silent' });
/** The test moves the clock (watchdog, re-list, retries); setImmediate stays real for the scripted API. */
const CLOCK_ONLY: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] };

const obj = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

interface Seen {
  lists: Array<{ names: string[]; resourceVersion: string }>;
  events: string[];
  failures: string[];
  restarts: ListWatchRestartReason[];
  connects: number;
}

describe('ListWatch', () => {
  let lw: ListWatch | null = null;
  afterEach(() => {
    lw?.stop();
    lw = null;
    vi.useRealTimers();
  });

  function make(api: ScriptedListWatchApi, o: { stallMs?: number; resyncMs?: number; minMs?: number; maxMs?: number; hooks?: Partial<ListWatchHooks> } = {}): Seen {
    const seen: Seen = { lists: [], events: [], failures: [], restarts: [], connects: 0 };
    lw = new ListWatch({
      api,
      log,
      name: 'test',
      stallMs: o.stallMs ?? 60_000,
      resyncMs: o.resyncMs,
      backoff: { minMs: o.minMs ?? 1, maxMs: o.maxMs ?? 5 },
      hooks: {
        onList: (items, resourceVersion) => seen.lists.push({ names: items.map((i) => (i as ReturnType<typeof obj>).metadata.name), resourceVersion }),
        onEvent: (type, o2) => seen.events.push(`${type} ${(o2 as ReturnType<typeof obj>).metadata.name}`),
        onConnect: () => seen.connects++,
        onFailure: (stage, err) => seen.failures.push(`${stage}: ${(err as Error).message}`),
        onRestart: (reason) => seen.restarts.push(reason),
        ...o.hooks,
      },
    });
    return seen;
  }

  it('reports the list, the watch connect and each object event, ignoring bookmarks', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    const started = lw!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [obj('a', '9'), obj('b', '8')] });
    await started;
    expect(seen.lists).toEqual([{ names: ['a', 'b'], resourceVersion: '10' }]);
    const w1 = await api.nthWatch(1);
    await w1.answer();
    expect(seen.connects).toBe(1);
    w1.emit('ADDED', obj('c', '11'));
    w1.emit('MODIFIED', obj('a', '12'));
    w1.emit('BOOKMARK', { metadata: { resourceVersion: '13' } });
    w1.emit('DELETED', obj('b', '14'));
    expect(seen.events).toEqual(['ADDED c', 'MODIFIED a', 'DELETED b']);
    expect(seen.restarts).toEqual([]);
  });

  it('names its restart reasons for a metric', () => {
    expect(LIST_WATCH_RESTART_REASONS).toEqual(['resync', 'stalled', 'error']);
  });

  it('re-lists every resyncMs in place of a healthy watch, reason "resync", and reports the fresh list', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedListWatchApi();
    const seen = make(api, { resyncMs: 10_000, stallMs: 60_000 });
    const started = lw!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [obj('a', '9')] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.restarts).toEqual(['resync']);
    expect(w1.stopped).toBe(true);
    (await api.nthList(2)).resolve({ resourceVersion: '20', items: [obj('b', '19')] });
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('20');
    expect(seen.lists.at(-1)).toEqual({ names: ['b'], resourceVersion: '20' });
    expect(seen.failures).toEqual([]);
  });

  it('does not re-list while a list is under way', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedListWatchApi();
    const seen = make(api, { resyncMs: 1000 });
    const started = lw!.start();
    await api.nthList(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(api.lists).toHaveLength(1);
    expect(seen.restarts).toEqual([]);
    api.lists[0]!.resolve({ resourceVersion: '10', items: [] });
    await started;
    await api.nthWatch(1);
  });

  it('restarts a silent watch with reason "stalled", from the last resourceVersion', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedListWatchApi();
    const seen = make(api, { stallMs: 1000 });
    const started = lw!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('BOOKMARK', { metadata: { resourceVersion: '12' } });
    await vi.advanceTimersByTimeAsync(2000);
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('12');
    expect(seen.restarts).toEqual(['stalled']);
    expect(api.lists).toHaveLength(1);
  });

  it('retries after a failure with reason "error", each delay within the backoff bounds, the window widening', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedListWatchApi();
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const seen = make(api, { minMs: 100, maxMs: 400 });
    const started = lw!.start();
    (await api.nthList(1)).reject(new Error('refused'));
    await started;
    // Attempt 0: drawn from [100, 200]; with random ≈ 1 just below 200.
    await vi.advanceTimersByTimeAsync(198);
    expect(api.lists).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    (await api.nthList(2)).reject(new Error('refused'));
    // Attempt 1: [100, 400]; the maximum caps it.
    await vi.advanceTimersByTimeAsync(398);
    expect(api.lists).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2);
    (await api.nthList(3)).resolve({ resourceVersion: '5', items: [] });
    await api.nthWatch(1);
    random.mockRestore();
    expect(seen.restarts).toEqual(['error', 'error']);
    expect(seen.failures).toEqual(['list: refused', 'list: refused']);
  });

  it('refuses a list without a usable resourceVersion as a failure', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    const started = lw!.start();
    (await api.nthList(1)).resolve({ resourceVersion: 'x'.repeat(65), items: [obj('a', '1')] });
    await started;
    (await api.nthList(2)).resolve({ resourceVersion: undefined, items: [] });
    (await api.nthList(3)).resolve({ resourceVersion: '3', items: [] });
    await api.nthWatch(1);
    expect(seen.lists).toEqual([{ names: [], resourceVersion: '3' }]);
    expect(seen.failures).toEqual(['list: the list carried no usable resourceVersion', 'list: the list carried no usable resourceVersion']);
  });

  it('keeps going when a hook throws', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api, {
      hooks: {
        onEvent: () => {
          throw new Error('boom');
        },
        onConnect: () => {
          throw new Error('boom');
        },
      },
    });
    const started = lw!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('ADDED', obj('a', '11'));
    w1.emit('BOOKMARK', { metadata: { resourceVersion: '15' } });
    w1.done(null);
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('15');
    expect(seen.failures).toEqual([]);
  });

  it('ignores a list that answers after stop, and starts again after stop from where it was', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    const started = lw!.start();
    const l1 = await api.nthList(1);
    lw!.stop();
    l1.resolve({ resourceVersion: '10', items: [obj('a', '9')] });
    await started;
    expect(seen.lists).toEqual([]);
    const again = lw!.start();
    (await api.nthList(2)).resolve({ resourceVersion: '11', items: [obj('a', '9')] });
    await again;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('MODIFIED', obj('a', '12'));
    lw!.stop();
    const resumed = lw!.start();
    await resumed;
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('12');
    expect(api.lists).toHaveLength(2);
  });
});
