import { describe, expect, it } from 'vitest';
import { decodeClientFrame, type FrameLimits } from '../../../runtime/protocol/client-frames.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';

const limits: FrameLimits = { maxFrameBytes: 1024, maxBodyBytes: 64, maxSyncLimit: 500 };
const decode = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return decodeClientFrame(text, Buffer.byteLength(text), limits);
};

describe('decodeClientFrame accepts', () => {
  it.each([
    [{ type: 'ping' }, { type: 'ping' }],
    [{ type: 'send', id: 'c1', groupId: 'g1', body: 'hi' }, { type: 'send', id: 'c1', groupId: 'g1', body: 'hi' }],
    [{ type: 'send', id: 'c1', groupId: 'g.1:x@y_z-2', body: '' }, { type: 'send', id: 'c1', groupId: 'g.1:x@y_z-2', body: '' }],
    [{ type: 'ack', groupId: 'g1', seq: 17 }, { type: 'ack', groupId: 'g1', seq: 17 }],
    [{ type: 'sync', id: 'r1', groupId: 'g1', afterSeq: 0 }, { type: 'sync', id: 'r1', groupId: 'g1', afterSeq: 0 }],
    [{ type: 'sync', id: 'r1', groupId: 'g1', afterSeq: 10, limit: 100 }, { type: 'sync', id: 'r1', groupId: 'g1', afterSeq: 10, limit: 100 }],
    // unknown extra fields are ignored (forward compatibility) and not passed on
    [{ type: 'ping', extra: 1 }, { type: 'ping' }],
    [{ type: 'send', id: 'c1', groupId: 'g1', body: 'x', extra: true }, { type: 'send', id: 'c1', groupId: 'g1', body: 'x' }],
  ])('%j', (input, expected) => {
    expect(decode(input)).toEqual({ ok: true, frame: expected });
  });

  it('counts the body limit in UTF-8 bytes, not characters', () => {
    expect(decode({ type: 'send', id: 'c', groupId: 'g', body: 'é'.repeat(32) }).ok).toBe(true); // 64 bytes
    expect(decode({ type: 'send', id: 'c', groupId: 'g', body: 'é'.repeat(33) })).toMatchObject({ ok: false, code: ErrorCode.FRAME_TOO_LARGE, id: 'c' });
  });
});

describe('decodeClientFrame rejects', () => {
  it.each([
    ['not JSON', 'hello', ErrorCode.BAD_FRAME, null],
    ['truncated JSON', '{"type":"send"', ErrorCode.BAD_FRAME, null],
    ['a JSON array', [1, 2], ErrorCode.BAD_FRAME, null],
    ['a JSON string', '"ping"', ErrorCode.BAD_FRAME, null],
    ['null', 'null', ErrorCode.BAD_FRAME, null],
    ['no type', { id: 'x' }, ErrorCode.BAD_FRAME, 'x'],
    ['numeric type', { type: 7 }, ErrorCode.BAD_FRAME, null],
    ['unknown type', { type: 'subscribe', id: 'q' }, ErrorCode.UNKNOWN_TYPE, 'q'],
    ['send without id', { type: 'send', groupId: 'g', body: 'b' }, ErrorCode.BAD_FRAME, null],
    ['send with empty id', { type: 'send', id: '', groupId: 'g', body: 'b' }, ErrorCode.BAD_FRAME, null],
    ['send with id too long', { type: 'send', id: 'x'.repeat(129), groupId: 'g', body: 'b' }, ErrorCode.BAD_FRAME, null],
    ['send with control chars in id', { type: 'send', id: 'a\nb', groupId: 'g', body: 'b' }, ErrorCode.BAD_FRAME, null],
    ['send with numeric id', { type: 'send', id: 5, groupId: 'g', body: 'b' }, ErrorCode.BAD_FRAME, null],
    ['send without groupId', { type: 'send', id: 'c', body: 'b' }, ErrorCode.BAD_FRAME, 'c'],
    ['send with bad groupId chars', { type: 'send', id: 'c', groupId: 'g/1', body: 'b' }, ErrorCode.BAD_FRAME, 'c'],
    ['send with groupId too long', { type: 'send', id: 'c', groupId: 'g'.repeat(129), body: 'b' }, ErrorCode.BAD_FRAME, 'c'],
    ['send without body', { type: 'send', id: 'c', groupId: 'g' }, ErrorCode.BAD_FRAME, 'c'],
    ['send with object body', { type: 'send', id: 'c', groupId: 'g', body: { a: 1 } }, ErrorCode.BAD_FRAME, 'c'],
    ['send with body too large', { type: 'send', id: 'c', groupId: 'g', body: 'x'.repeat(65) }, ErrorCode.FRAME_TOO_LARGE, 'c'],
    ['ack without seq', { type: 'ack', groupId: 'g' }, ErrorCode.BAD_FRAME, null],
    ['ack with seq 0', { type: 'ack', groupId: 'g', seq: 0 }, ErrorCode.BAD_FRAME, null],
    ['ack with negative seq', { type: 'ack', groupId: 'g', seq: -1 }, ErrorCode.BAD_FRAME, null],
    ['ack with fractional seq', { type: 'ack', groupId: 'g', seq: 1.5 }, ErrorCode.BAD_FRAME, null],
    ['ack with string seq', { type: 'ack', groupId: 'g', seq: '3' }, ErrorCode.BAD_FRAME, null],
    ['ack with unsafe seq', { type: 'ack', groupId: 'g', seq: 2 ** 60 }, ErrorCode.BAD_FRAME, null],
    ['ack without groupId', { type: 'ack', seq: 1 }, ErrorCode.BAD_FRAME, null],
    ['sync without id', { type: 'sync', groupId: 'g', afterSeq: 0 }, ErrorCode.BAD_FRAME, null],
    ['sync without groupId', { type: 'sync', id: 'r', afterSeq: 0 }, ErrorCode.BAD_FRAME, 'r'],
    ['sync without afterSeq', { type: 'sync', id: 'r', groupId: 'g' }, ErrorCode.BAD_FRAME, 'r'],
    ['sync with negative afterSeq', { type: 'sync', id: 'r', groupId: 'g', afterSeq: -2 }, ErrorCode.BAD_FRAME, 'r'],
    ['sync with limit 0', { type: 'sync', id: 'r', groupId: 'g', afterSeq: 0, limit: 0 }, ErrorCode.BAD_FRAME, 'r'],
    ['sync with limit above max', { type: 'sync', id: 'r', groupId: 'g', afterSeq: 0, limit: 501 }, ErrorCode.BAD_FRAME, 'r'],
    ['sync with string limit', { type: 'sync', id: 'r', groupId: 'g', afterSeq: 0, limit: '5' }, ErrorCode.BAD_FRAME, 'r'],
  ])('%s', (_name, input, code, id) => {
    const r = decode(input);
    expect(r).toMatchObject({ ok: false, code, id });
    if (!r.ok) expect(r.message.length).toBeGreaterThan(5);
  });

  it('rejects a frame above maxFrameBytes before parsing it', () => {
    const text = JSON.stringify({ type: 'send', id: 'c', groupId: 'g', body: 'x'.repeat(2000) });
    expect(decodeClientFrame(text, Buffer.byteLength(text), limits)).toMatchObject({ ok: false, code: ErrorCode.FRAME_TOO_LARGE });
  });

  it('does not echo a long unknown type back in full', () => {
    const r = decode({ type: 'x'.repeat(5000) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.length).toBeLessThan(200);
  });
});
