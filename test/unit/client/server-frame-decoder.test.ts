import { describe, expect, it } from 'vitest';
import { decodeServerFrame } from '../../../runtime/client/server-frame-decoder.js';

const msg = { type: 'msg', groupId: 'g', seq: 1, from: 'u', body: 'b', ts: 5 };

describe('decodeServerFrame', () => {
  it.each([
    ['binary data', Buffer.from('{}'), 'must be text'],
    ['invalid JSON', '{', 'not valid JSON'],
    ['an array', '[]', 'JSON object'],
    ['no type', '{}', '"type"'],
    ['msg with seq 0', JSON.stringify({ ...msg, seq: 0 }), '"seq"'],
    ['msg with a fractional seq', JSON.stringify({ ...msg, seq: 1.5 }), '"seq"'],
    ['msg with an unsafe seq', JSON.stringify({ ...msg, seq: 2 ** 60 }), '"seq"'],
    ['msg with a bad group id', JSON.stringify({ ...msg, groupId: 'a b' }), '"groupId"'],
    ['msg without body', JSON.stringify({ ...msg, body: undefined }), '"body"'],
    ['msg with a string ts', JSON.stringify({ ...msg, ts: '5' }), '"ts"'],
    ['sent without id', JSON.stringify({ type: 'sent', groupId: 'g', seq: 1, ts: 1 }), '"id"'],
    ['sent with seq -1', JSON.stringify({ type: 'sent', id: 'x', groupId: 'g', seq: -1, ts: 1 }), '"seq"'],
    ['sync.result without more', JSON.stringify({ type: 'sync.result', id: 'x', groupId: 'g', messages: [] }), '"more"'],
    ['sync.result with messages of another group', JSON.stringify({ type: 'sync.result', id: 'x', groupId: 'h', messages: [msg], more: false }), 'another group'],
    [
      'sync.result out of order',
      JSON.stringify({ type: 'sync.result', id: 'x', groupId: 'g', messages: [{ ...msg, seq: 2 }, msg], more: false }),
      'ascending',
    ],
    ['sync.result with a bad message', JSON.stringify({ type: 'sync.result', id: 'x', groupId: 'g', messages: [{ ...msg, seq: 'x' }], more: false }), '"seq"'],
    ['error with a numeric code', JSON.stringify({ type: 'error', id: null, code: 5, message: '' }), '"code"'],
    ['error with an object id', JSON.stringify({ type: 'error', id: {}, code: 'NOT_MEMBER', message: '' }), '"id"'],
    ['welcome without heartbeat', JSON.stringify({ type: 'welcome', userId: 'u', connId: 'c', gate: 'g' }), '"heartbeatMs"'],
    ['welcome with heartbeat 0', JSON.stringify({ type: 'welcome', userId: 'u', connId: 'c', gate: 'g', heartbeatMs: 0 }), '"heartbeatMs"'],
    ['welcome without userId', JSON.stringify({ type: 'welcome', connId: 'c', gate: 'g', heartbeatMs: 5 }), '"userId"'],
  ])('rejects %s', (_name, data, fragment) => {
    const r = decodeServerFrame(data);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(fragment);
  });

  it('decodes each server frame type', () => {
    expect(decodeServerFrame(JSON.stringify({ ...msg, extra: 1 }))).toEqual({ ok: true, frame: msg });
    expect(decodeServerFrame(JSON.stringify({ type: 'sent', id: 'x', groupId: 'g', seq: 3, ts: 4 }))).toEqual({
      ok: true,
      frame: { type: 'sent', id: 'x', groupId: 'g', seq: 3, ts: 4 },
    });
    expect(decodeServerFrame('{"type":"pong"}')).toEqual({ ok: true, frame: { type: 'pong' } });
    expect(decodeServerFrame(JSON.stringify({ type: 'error', code: 'UNAVAILABLE', message: 'm' }))).toEqual({
      ok: true,
      frame: { type: 'error', id: null, code: 'UNAVAILABLE', message: 'm' },
    });
  });

  it('keeps an unknown error code readable but not retryable', () => {
    expect(decodeServerFrame(JSON.stringify({ type: 'error', id: 'x', code: 'NEW_CODE', message: 'm' }))).toEqual({
      ok: true,
      frame: { type: 'error', id: 'x', code: 'INTERNAL', message: 'NEW_CODE: m' },
    });
  });

  it('skips frame types of newer gates', () => {
    expect(decodeServerFrame('{"type":"typing","groupId":"g"}')).toEqual({ ok: true, frame: null });
  });
});
