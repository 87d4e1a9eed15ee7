import { describe, expect, it } from 'vitest';
import { buildMembership, parseMembership, serializeMembership } from '../../../runtime/protocol/membership.js';

describe('parseMembership', () => {
  it('accepts the documented form', () => {
    const r = parseMembership('{"version":"v1","members":[{"id":"logic-0","url":"ws://127.0.0.1:8180"}]}');
    expect(r).toEqual({ ok: true, doc: { version: 'v1', members: [{ id: 'logic-0', url: 'ws://127.0.0.1:8180' }] } });
  });

  it('accepts an empty member list and wss URLs', () => {
    expect(parseMembership('{"version":"x","members":[]}').ok).toBe(true);
    expect(parseMembership('{"version":"x","members":[{"id":"a","url":"wss://logic.example:443/p"}]}').ok).toBe(true);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['no version', '{"members":[]}', /"version"/],
    ['empty version', '{"version":"","members":[]}', /"version"/],
    ['numeric version', '{"version":3,"members":[]}', /"version"/],
    ['members not an array', '{"version":"v","members":{}}', /"members" must be an array/],
    ['member not an object', '{"version":"v","members":["a"]}', /members\[0\] must be an object/],
    ['member without id', '{"version":"v","members":[{"url":"ws://a:1"}]}', /members\[0\]\.id/],
    ['member id with a slash', '{"version":"v","members":[{"id":"a/b","url":"ws://a:1"}]}', /members\[0\]\.id/],
    ['duplicate ids', '{"version":"v","members":[{"id":"a","url":"ws://a:1"},{"id":"a","url":"ws://b:1"}]}', /appears twice/],
    ['http URL', '{"version":"v","members":[{"id":"a","url":"http://a:1"}]}', /members\[0\]\.url/],
    ['garbage URL', '{"version":"v","members":[{"id":"a","url":"not a url"}]}', /members\[0\]\.url/],
  ])('rejects %s', (_name, text, message) => {
    const r = parseMembership(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('rejects more members than the limit', () => {
    const members = Array.from({ length: 1025 }, (_, i) => ({ id: `n${i}`, url: 'ws://h:1' }));
    const r = parseMembership(JSON.stringify({ version: 'v', members }));
    expect(r.ok).toBe(false);
  });
});

describe('buildMembership', () => {
  const a = { id: 'logic-0', url: 'ws://10.0.0.1:8180' };
  const b = { id: 'logic-1', url: 'ws://10.0.0.2:8180' };

  it('sorts members and derives the version from the list alone', () => {
    const d1 = buildMembership([b, a]);
    const d2 = buildMembership([a, b]);
    expect(d1).toEqual(d2);
    expect(d1.members.map((m) => m.id)).toEqual(['logic-0', 'logic-1']);
  });

  it('changes the version exactly when the member list changes', () => {
    const v = buildMembership([a, b]).version;
    expect(buildMembership([a]).version).not.toBe(v);
    expect(buildMembership([a, { ...b, url: 'ws://10.0.0.3:8180' }]).version).not.toBe(v);
    expect(buildMembership([b, a]).version).toBe(v);
  });

  it('round-trips through serializeMembership and parseMembership', () => {
    const doc = buildMembership([a, b]);
    expect(parseMembership(serializeMembership(doc))).toEqual({ ok: true, doc });
  });
});
