/**
 * The pure parts of the ConfigMap membership source: `<namespace>/<name>` parsing, the options
 * that choose a source, the document inside a ConfigMap object. And the watch loop's recovery
 * paths that a real API server does not produce on demand (410 Gone as an event and as a status,
 * ERROR events, a watch that never answers), against a scripted API; the real API server is
 * exercised in test/integration/operator/gate-membership-configmap.test.ts.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MEMBERSHIP_KEY } from '../../../operator/desired/runtime-env.js';
import { ConfigError } from '../../../runtime/config/options.js';
import { GATE_OPTIONS, resolveGateOptions } from '../../../runtime/gate/config.js';
import { MembershipConfigMap } from '../../../runtime/gate/membership-configmap.js';
import { loadGateKubeConfig } from '../../../runtime/gate/membership-configmap-api.js';
import { MEMBERSHIP_CONFIGMAP_KEY, membershipFromConfigMap } from '../../../runtime/gate/membership-configmap-document.js';
import { nameFieldSelector, parseConfigMapRef } from '../../../runtime/gate/membership-configmap-ref.js';
import { buildMembership, MEMBERSHIP_LIMITS, type MembershipDocument, serializeMembership } from '../../../runtime/protocol/membership.js';
import { ScriptedListWatchApi as ScriptedApi } from '../../support/scripted-list-watch-api.js';

const log = pino({ level: 'silent' });

function doc(...ids: string[]): MembershipDocument {
  return buildMembership(ids.map((id, i) => ({ id, url: `ws://127.0.0.1:${8180 + i}` })));
}

function configMap(data: Record<string, unknown> | undefined, rv = '7', name = 'chat-membership', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, ...(data === undefined ? {} : { data }), ...extra };
}

describe('parseConfigMapRef', () => {
  it('accepts <namespace>/<name> with a dotted name', () => {
    expect(parseConfigMapRef('imgroup/chat-membership')).toEqual({ ok: true, ref: { namespace: 'imgroup', name: 'chat-membership' } });
    expect(parseConfigMapRef('a/b.c-d.e')).toEqual({ ok: true, ref: { namespace: 'a', name: 'b.c-d.e' } });
    expect(parseConfigMapRef(`${'n'.repeat(63)}/${'m'.repeat(253)}`).ok).toBe(true);
  });

  const rejected: Array<[string, string, RegExp]> = [
    ['no slash', 'chat-membership', /exactly one "\/"/],
    ['two slashes', 'a/b/c', /exactly one "\/"/],
    ['an empty namespace', '/chat', /namespace ""/],
    ['an empty name', 'ns/', /ConfigMap name ""/],
    ['an upper-case namespace', 'NS/chat', /namespace "NS"/],
    ['a namespace with a dot', 'n.s/chat', /namespace "n.s"/],
    ['a namespace ending in a dash', 'ns-/chat', /namespace/],
    ['a namespace of 64 characters', `${'n'.repeat(64)}/chat`, /1-63/],
    ['a name with an underscore', 'ns/chat_membership', /ConfigMap name/],
    ['a name with an empty dot part', 'ns/chat..membership', /ConfigMap name/],
    ['a name of 254 characters', `ns/${'m'.repeat(254)}`, /1-253/],
    ['spaces', 'ns / chat', /namespace/],
  ];
  it.each(rejected)('rejects %s', (_what, text, message) => {
    const r = parseConfigMapRef(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('selects the one name the gate Role grants', () => {
    expect(nameFieldSelector({ namespace: 'ns', name: 'chat-membership' })).toBe('metadata.name=chat-membership');
  });
});

describe('gate options: the membership source', () => {
  const base = { IMGROUP_NODE_NAME: 'gate-0' };

  it('uses the ConfigMap when set, the file otherwise, and both may be given (the ConfigMap wins)', () => {
    const cm = resolveGateOptions([], { ...base, IMGROUP_MEMBERSHIP_CONFIGMAP: 'ns/chat-membership', IMGROUP_KUBECONFIG: '/k/config' }).options;
    expect(cm.membershipConfigMap).toEqual({ namespace: 'ns', name: 'chat-membership' });
    expect(cm.kubeconfig).toBe('/k/config');
    expect(cm.membershipFile).toBeUndefined();
    expect(cm.membershipWatchStallMs).toBe(90_000);
    const file = resolveGateOptions([], { ...base, IMGROUP_MEMBERSHIP_FILE: '/m.json' }).options;
    expect(file.membershipConfigMap).toBeUndefined();
    expect(file.membershipFile).toBe('/m.json');
    const both = resolveGateOptions(['--membership-configmap', 'ns/m', '--membership-watch-stall-ms', '2000'], { ...base, IMGROUP_MEMBERSHIP_FILE: '/m.json' }).options;
    expect(both.membershipConfigMap).toEqual({ namespace: 'ns', name: 'm' });
    expect(both.membershipWatchStallMs).toBe(2000);
  });

  const rejected: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['neither source', [], base, /IMGROUP_MEMBERSHIP_CONFIGMAP.*IMGROUP_MEMBERSHIP_FILE/],
    ['a ConfigMap without a namespace', [], { ...base, IMGROUP_MEMBERSHIP_CONFIGMAP: 'chat-membership' }, /IMGROUP_MEMBERSHIP_CONFIGMAP.*<namespace>\/<name>/],
    ['a ConfigMap flag with a bad name', ['--membership-configmap', 'ns/Chat'], base, /IMGROUP_MEMBERSHIP_CONFIGMAP.*ConfigMap name "Chat"/],
    ['a kubeconfig without the ConfigMap source', [], { ...base, IMGROUP_MEMBERSHIP_FILE: '/m.json', IMGROUP_KUBECONFIG: '/k' }, /IMGROUP_KUBECONFIG.*IMGROUP_MEMBERSHIP_CONFIGMAP/],
    ['a stall bound below 1 s', [], { ...base, IMGROUP_MEMBERSHIP_CONFIGMAP: 'ns/m', IMGROUP_MEMBERSHIP_WATCH_STALL_MS: '999' }, /IMGROUP_MEMBERSHIP_WATCH_STALL_MS.*minimum/],
  ];
  it.each(rejected)('rejects %s, naming the setting', (_what, argv, env, message) => {
    expect(() => resolveGateOptions(argv, env)).toThrow(ConfigError);
    expect(() => resolveGateOptions(argv, env)).toThrow(message);
  });

  it('documents the new options, the file no longer required', () => {
    const byEnv = new Map(GATE_OPTIONS.map((s) => [s.env, s]));
    expect(byEnv.get('IMGROUP_MEMBERSHIP_FILE')?.required).toBeFalsy();
    for (const env of ['IMGROUP_MEMBERSHIP_CONFIGMAP', 'IMGROUP_KUBECONFIG', 'IMGROUP_MEMBERSHIP_WATCH_STALL_MS']) expect(byEnv.has(env)).toBe(true);
  });
});

describe('membershipFromConfigMap', () => {
  const good = serializeMembership(doc('logic-0', 'logic-1'));

  it('reads the document under data["membership.json"], the key the operator writes', () => {
    expect(MEMBERSHIP_CONFIGMAP_KEY).toBe(MEMBERSHIP_KEY);
    const r = membershipFromConfigMap(configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: good, other: 'x' }));
    expect(r).toEqual({ ok: true, doc: doc('logic-0', 'logic-1') });
  });

  it('accepts a document of exactly the size limit boundary and rejects one byte more', () => {
    const base = JSON.stringify({ version: 'v', members: [] });
    const padded = base + ' '.repeat(MEMBERSHIP_LIMITS.maxDocumentBytes - base.length);
    expect(membershipFromConfigMap(configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: padded })).ok).toBe(true);
    const r = membershipFromConfigMap(configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: `${padded} ` }));
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/at most 1048576/) });
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['null', null, /not a JSON object/],
    ['an array', [configMap({})], /not a JSON object/],
    ['no data', configMap(undefined), /no key "membership.json"/],
    ['data that is a string', configMap(undefined, '7', 'm', { data: 'x' }), /"data" is not an object/],
    ['another key only', configMap({ 'members.json': good }), /no key "membership.json"/],
    ['the key under binaryData', configMap(undefined, '7', 'm', { binaryData: { [MEMBERSHIP_CONFIGMAP_KEY]: Buffer.from(good).toString('base64') } }), /binaryData/],
    ['a key inherited from Object.prototype', configMap({}), /no key "toString"/],
    ['a value that is not a string', configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: { version: 'v', members: [] } }), /not a string/],
    ['invalid JSON', configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: '{"version":' }), /membership.json.*not valid JSON/],
    ['a document without version', configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: '{"members":[]}' }), /"version"/],
    ['a member with a http URL', configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: '{"version":"v","members":[{"id":"a","url":"http://x"}]}' }), /ws:\/\//],
  ];
  it.each(rejected)('rejects %s', (what, obj, message) => {
    const r = membershipFromConfigMap(obj, what === 'a key inherited from Object.prototype' ? 'toString' : MEMBERSHIP_CONFIGMAP_KEY);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});

describe('loadGateKubeConfig', () => {
  it('names the setting when the kubeconfig file cannot be loaded', () => {
    expect(() => loadGateKubeConfig('/nonexistent/kubeconfig', 1000)).toThrow(ConfigError);
    expect(() => loadGateKubeConfig('/nonexistent/kubeconfig', 1000)).toThrow(/IMGROUP_KUBECONFIG.*\/nonexistent\/kubeconfig/);
  });

  it.skipIf(process.env.KUBERNETES_SERVICE_HOST !== undefined)('refuses the in-cluster default outside a pod, saying what to set', () => {
    expect(() => loadGateKubeConfig(undefined, 1000)).toThrow(/not in a pod.*IMGROUP_KUBECONFIG/);
  });
});

/** A clock the test moves (the source's watchdog, retries and Date.now); setImmediate stays real for the scripted API. */
const CLOCK_ONLY: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] };

describe('MembershipConfigMap (scripted API)', () => {
  let source: MembershipConfigMap | null = null;
  afterEach(() => {
    source?.stop();
    vi.useRealTimers();
  });

  function make(api: ScriptedApi, stallMs = 60_000) {
    const seen = { docs: [] as MembershipDocument[], errors: [] as string[] };
    source = new MembershipConfigMap({
      ref: { namespace: 'ns', name: 'chat-membership' },
      api,
      stallMs,
      retryBaseMs: 1,
      retryMaxMs: 5,
      onChange: (d) => seen.docs.push(d),
      onError: (m) => seen.errors.push(m),
      log,
    });
    return seen;
  }

  const cm = (d: MembershipDocument, rv: string) => configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: serializeMembership(d) }, rv);

  it('lists, watches from the list version, resumes from the last event after a close, and re-lists after 410 (event or status)', async () => {
    const api = new ScriptedApi();
    const seen = make(api);
    const started = source!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [cm(doc('a'), '9')] });
    await started;
    expect(seen.docs).toEqual([doc('a')]);

    const w1 = await api.nthWatch(1);
    expect(w1.resourceVersion).toBe('10');
    await w1.answer();
    w1.emit('MODIFIED', cm(doc('a', 'b'), '11'));
    w1.emit('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '15' } });
    expect(seen.docs).toEqual([doc('a'), doc('a', 'b')]);
    // Closed by the server after a healthy watch: resume from the bookmark, no list.
    w1.done(null);
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('15');
    expect(api.lists).toHaveLength(1);

    await w2.answer();
    w2.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    expect(w2.stopped).toBe(true);
    (await api.nthList(2)).resolve({ resourceVersion: '30', items: [cm(doc('a', 'b', 'c'), '29')] });
    const w3 = await api.nthWatch(3);
    expect(w3.resourceVersion).toBe('30');
    expect(seen.docs.at(-1)).toEqual(doc('a', 'b', 'c'));

    // 410 as the HTTP status of the watch request itself.
    w3.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    (await api.nthList(3)).resolve({ resourceVersion: '31', items: [cm(doc('a', 'b', 'c'), '29')] });
    await api.nthWatch(4);
    expect(seen.docs).toHaveLength(3); // the same version is not applied twice
    expect(seen.errors).toEqual([]);
  });

  it('keeps the current membership on an invalid document, a deletion and a missing ConfigMap, counting each once', async () => {
    const api = new ScriptedApi();
    const seen = make(api);
    const started = source!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [] });
    await started;
    expect(seen.errors).toEqual(['ConfigMap ns/chat-membership does not exist']);
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('ADDED', cm(doc('a'), '11'));
    w1.emit('MODIFIED', configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: 'not json' }, '12'));
    w1.emit('MODIFIED', configMap({}, '13'));
    w1.emit('DELETED', configMap({}, '14'));
    w1.emit('ADDED', { kind: 'ConfigMap', metadata: { name: 'another', resourceVersion: '15' }, data: { [MEMBERSHIP_CONFIGMAP_KEY]: 'x' } });
    w1.emit('MODIFIED', 'garbage');
    w1.emit('SURPRISE', null);
    expect(seen.docs).toEqual([doc('a')]);
    expect(source!.document).toEqual(doc('a'));
    expect(seen.errors).toHaveLength(4);
    expect(seen.errors[1]).toMatch(/not valid JSON/);
    expect(seen.errors[2]).toMatch(/no key "membership.json"/);
    expect(seen.errors[3]).toMatch(/was deleted/);
    // A re-list that finds the same invalid object (same resourceVersion) is not a new error.
    w1.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    (await api.nthList(2)).resolve({ resourceVersion: '20', items: [configMap({ [MEMBERSHIP_CONFIGMAP_KEY]: 'not json' }, '12')] });
    await api.nthWatch(2);
    expect(seen.errors).toHaveLength(5); // 12 is reported again only because a deletion was reported in between
    expect(source!.document).toEqual(doc('a'));
  });

  it('retries failed lists with backoff, counting a run of equal failures once', async () => {
    const api = new ScriptedApi();
    const seen = make(api);
    const started = source!.start();
    const forbidden = { code: 403, body: '{"message":"configmaps is forbidden"}' };
    (await api.nthList(1)).reject(forbidden);
    await started;
    (await api.nthList(2)).reject(forbidden);
    (await api.nthList(3)).reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    (await api.nthList(4)).resolve({ resourceVersion: '5', items: [cm(doc('a'), '4')] });
    await api.nthWatch(1);
    expect(seen.errors).toEqual([
      'membership list of ConfigMap ns/chat-membership failed: HTTP 403: configmaps is forbidden',
      'membership list of ConfigMap ns/chat-membership failed: connect ECONNREFUSED 127.0.0.1:1',
    ]);
    expect(seen.docs).toEqual([doc('a')]);
  });

  it('restarts a watch that shows no sign of life (never answered, or silent) from the last resourceVersion', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedApi();
    make(api, 200);
    const started = source!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [cm(doc('a'), '9')] });
    await started;
    const w1 = await api.nthWatch(1); // never answers
    await vi.advanceTimersByTimeAsync(500);
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('10');
    await w1.answer(); // a late answer of an abandoned watch is closed at once, its events ignored
    expect(w1.stopped).toBe(true);
    await w2.answer();
    w2.emit('BOOKMARK', { metadata: { resourceVersion: '12' } });
    expect(api.watches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    const w3 = await api.nthWatch(3); // silent after the bookmark
    expect(w2.stopped).toBe(true);
    expect(w3.resourceVersion).toBe('12');
    expect(api.lists).toHaveLength(1);
  });

  it('takes BOOKMARK events as heartbeats: a watch that gets them is not restarted', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedApi();
    make(api, 1000);
    const started = source!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [cm(doc('a'), '9')] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(100);
      w1.emit('BOOKMARK', { metadata: { resourceVersion: String(11 + i) } });
    }
    expect(api.watches).toHaveLength(1); // 2 s of bookmarks, stall bound 1 s
    expect(w1.stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(2000);
    const w2 = await api.nthWatch(2); // bookmarks stop → restarted from the last one
    expect(w2.resourceVersion).toBe('30');
  });

  it('treats an ERROR event other than 410 and a watch closed at once as failures, retried from the same version', async () => {
    const api = new ScriptedApi();
    const seen = make(api);
    const started = source!.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [cm(doc('a'), '9')] });
    await started;
    const w1 = await api.nthWatch(1);
    await w1.answer();
    w1.emit('ERROR', { kind: 'Status', code: 500, message: 'internal error' });
    const w2 = await api.nthWatch(2);
    expect(w2.resourceVersion).toBe('10');
    w2.done(null); // closed at once, without any event
    const w3 = await api.nthWatch(3);
    expect(w3.resourceVersion).toBe('10');
    expect(seen.errors).toEqual([
      'membership watch of ConfigMap ns/chat-membership failed: ERROR event 500: internal error',
      'membership watch of ConfigMap ns/chat-membership failed: closed by the server at once',
    ]);
    // Late callbacks of ended watches change nothing.
    w1.emit('MODIFIED', cm(doc('x'), '99'));
    w2.done(new Error('late'));
    expect(seen.docs).toEqual([doc('a')]);
    expect(api.watches).toHaveLength(3);
  });

  it('survives a throwing onChange and stops cleanly', async () => {
    vi.useFakeTimers(CLOCK_ONLY);
    const api = new ScriptedApi();
    source = new MembershipConfigMap({
      ref: { namespace: 'ns', name: 'chat-membership' },
      api,
      stallMs: 60_000,
      onChange: () => {
        throw new Error('boom');
      },
      log,
    });
    const started = source.start();
    (await api.nthList(1)).resolve({ resourceVersion: '10', items: [cm(doc('a'), '9')] });
    await started;
    expect(source.document).toEqual(doc('a'));
    const w1 = await api.nthWatch(1);
    await w1.answer();
    source.stop();
    expect(w1.stopped).toBe(true);
    w1.done(null);
    await vi.advanceTimersByTimeAsync(120_000); // longer than any retry or stall bound
    expect(api.watches).toHaveLength(1);
  });
});
