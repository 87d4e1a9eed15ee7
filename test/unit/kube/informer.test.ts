/**
 * The informer's cache and callbacks over a scripted API: a list replaces the cache (deletions,
 * additions and changes reported), watch events update it, `synced` and `onResync` follow the
 * lists, and client-node's informer interface (on/off, 'change', get, list by namespace) holds.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeInformer } from '../../../runtime/kube/informer.js';
import { ScriptedListWatchApi } from '../../support/scripted-list-watch-api.js';

const log = pino({ level: 'silent' });
const obj = (namespace: string, name: string, rv: string): KubernetesObject => ({ metadata: { name, namespace, resourceVersion: rv } });
const key = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}@${o.metadata?.resourceVersion}`;

describe('KubeInformer', () => {
  let informer: KubeInformer<KubernetesObject> | null = null;
  afterEach(async () => {
    await informer?.stop();
    informer = null;
  });

  function make(api: ScriptedListWatchApi) {
    const seen = { events: [] as string[], resyncs: [] as string[][], errors: 0, connects: 0 };
    informer = new KubeInformer<KubernetesObject>({
      api,
      log,
      stallMs: 60_000,
      backoff: { minMs: 1, maxMs: 5 },
      onResync: (objects) => seen.resyncs.push(objects.map(key).sort()),
    });
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (o) => seen.events.push(`${verb} ${key(o)}`));
    informer.on('error', () => seen.errors++);
    informer.on('connect', () => seen.connects++);
    return seen;
  }

  it('caches the list, applies watch events, and reports each change once', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    expect(informer!.synced).toBe(false);
    const started = informer!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [obj('a', 'x', '1'), obj('b', 'y', '2'), { metadata: {} }] });
    await started;
    expect(informer!.synced).toBe(true);
    expect(seen.events).toEqual(['add a/x@1', 'add b/y@2']);
    expect(seen.resyncs).toEqual([['a/x@1', 'b/y@2']]);
    const w1 = await api.nthWatch(1);
    await w1.answer();
    expect(seen.connects).toBe(1);
    w1.emit('MODIFIED', obj('a', 'x', '11'));
    w1.emit('MODIFIED', obj('a', 'x', '11')); // the same version again: no update
    w1.emit('ADDED', obj('a', 'z', '12'));
    w1.emit('DELETED', obj('b', 'y', '13'));
    w1.emit('DELETED', obj('b', 'gone', '14')); // not cached: nothing to report
    w1.emit('ADDED', 'garbage');
    expect(seen.events.slice(2)).toEqual(['update a/x@11', 'add a/z@12', 'delete b/y@13']);
    expect(informer!.get('x', 'a')).toEqual(obj('a', 'x', '11'));
    expect(informer!.get('y', 'b')).toBeUndefined();
    expect(informer!.list('a').map(key).sort()).toEqual(['a/x@11', 'a/z@12']);
    expect(informer!.list('b')).toEqual([]);
    expect(informer!.list().map(key).sort()).toEqual(['a/x@11', 'a/z@12']);
  });

  it('a re-list replaces the cache: objects gone are deleted, changed ones updated, unchanged ones left', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    const started = informer!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [obj('a', 'x', '1'), obj('a', 'y', '2'), obj('b', 'z', '3')] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('ERROR', { kind: 'Status', code: 410, message: 'too old' });
    (await api.nthList(2)).resolve({ resourceVersion: '20', items: [obj('a', 'x', '1'), obj('a', 'y', '15'), obj('c', 'w', '16')] });
    await api.nthWatch(2);
    expect(seen.events.slice(3)).toEqual(['delete b/z@3', 'update a/y@15', 'add c/w@16']);
    expect(seen.resyncs.at(-1)).toEqual(['a/x@1', 'a/y@15', 'c/w@16']);
    expect(informer!.list().map(key).sort()).toEqual(['a/x@1', 'a/y@15', 'c/w@16']);
  });

  it('reports failures to error callbacks, and takes callbacks off; "change" means all three', async () => {
    const api = new ScriptedListWatchApi();
    const seen = make(api);
    const changes: string[] = [];
    const onChange = (o: KubernetesObject) => changes.push(key(o));
    informer!.on('change', onChange);
    informer!.on('add', () => {
      throw new Error('a failing callback does not stop the others');
    });
    const started = informer!.start();
    (await api.nthList(1)).reject(new Error('refused'));
    await started;
    expect(seen.errors).toBe(1);
    expect(informer!.synced).toBe(false);
    (await api.nthList(2)).resolve({ resourceVersion: '10', items: [obj('a', 'x', '1')] });
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('MODIFIED', obj('a', 'x', '2'));
    informer!.off('change', onChange);
    w1.emit('DELETED', obj('a', 'x', '3'));
    expect(changes).toEqual(['a/x@1', 'a/x@2']);
    expect(seen.events).toEqual(['add a/x@1', 'update a/x@2', 'delete a/x@3']);
  });
});
