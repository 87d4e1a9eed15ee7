import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../runtime/protocol/errors.js';
import { decodeGateFrame, decodeLogicFrame, InternalCloseCode } from '../../../runtime/protocol/internal-frames.js';

const msg = { groupId: 'g', seq: 1, from: 'u', body: 'b', ts: 1 };

describe('decodeGateFrame', () => {
  it.each([
    { t: 'req', rid: 1, op: 'send', userId: 'u', groupId: 'g', clientId: 'c', body: 'b' },
    { t: 'req', rid: 2, op: 'post', from: 'system', groupId: 'g', clientId: 'c', body: 'b' },
    { t: 'req', rid: 3, op: 'sync', userId: 'u', groupId: 'g', afterSeq: 0, limit: 10 },
    { t: 'req', rid: 4, op: 'login', userId: 'u', connId: 'c' },
    { t: 'req', rid: 5, op: 'members.update', groupId: 'g', add: ['a'], remove: [] },
    { t: 'req', rid: 6, op: 'members.get', groupId: 'g' },
    { t: 'ack', userId: 'u', groupId: 'g', seq: 3 },
    { t: 'missed', groupId: 'g', users: ['u'] },
  ])('accepts %j', (frame) => {
    expect(decodeGateFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it.each([
    ['not JSON', 'x'],
    ['no t', '{}'],
    ['req without rid', JSON.stringify({ t: 'req', op: 'members.get', groupId: 'g' })],
    ['negative rid', JSON.stringify({ t: 'req', rid: -1, op: 'members.get', groupId: 'g' })],
    ['unknown op', JSON.stringify({ t: 'req', rid: 1, op: 'drop' })],
    ['send without body', JSON.stringify({ t: 'req', rid: 1, op: 'send', userId: 'u', groupId: 'g', clientId: 'c' })],
    ['sync with fractional limit', JSON.stringify({ t: 'req', rid: 1, op: 'sync', userId: 'u', groupId: 'g', afterSeq: 0, limit: 1.5 })],
    ['members.update with non-array add', JSON.stringify({ t: 'req', rid: 1, op: 'members.update', groupId: 'g', add: 'a', remove: [] })],
    ['ack without seq', JSON.stringify({ t: 'ack', userId: 'u', groupId: 'g' })],
    ['missed with numeric users', JSON.stringify({ t: 'missed', groupId: 'g', users: [1] })],
  ])('rejects %s', (_name, text) => {
    expect(decodeGateFrame(text)).toBeNull();
  });
});

describe('decodeLogicFrame', () => {
  it.each([
    { t: 'res', rid: 1, ok: true, result: { seq: 1, ts: 2 } },
    { t: 'res', rid: 1, ok: false, code: 'NOT_MEMBER', message: 'no' },
    { t: 'deliver', groupId: 'g', msgs: [msg], users: ['u'], path: 'online' },
    { t: 'deliver', groupId: 'g', msgs: [msg], conns: ['c'], path: 'offline' },
    { t: 'deliver', groupId: 'g', msgs: [msg], users: ['u'], path: 'sweep' },
  ])('accepts %j', (frame) => {
    expect(decodeLogicFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it.each([
    ['error with unknown code', { t: 'res', rid: 1, ok: false, code: 'NOPE', message: 'x' }],
    ['deliver with both users and conns', { t: 'deliver', groupId: 'g', msgs: [msg], users: ['u'], conns: ['c'], path: 'online' }],
    ['deliver with neither', { t: 'deliver', groupId: 'g', msgs: [msg], path: 'online' }],
    ['deliver with bad path', { t: 'deliver', groupId: 'g', msgs: [msg], users: ['u'], path: 'x' }],
    ['deliver on the gate-only path gapfill', { t: 'deliver', groupId: 'g', msgs: [msg], users: ['u'], path: 'gapfill' }],
    ['deliver with a bad message', { t: 'deliver', groupId: 'g', msgs: [{ ...msg, seq: 'one' }], users: ['u'], path: 'online' }],
    ['unknown t', { t: 'hello' }],
  ])('rejects %s', (_name, frame) => {
    expect(decodeLogicFrame(JSON.stringify(frame))).toBeNull();
  });
});

describe('internal close codes', () => {
  it('keeps the link\'s own codes in 4100–4199, where no client close code is', () => {
    const own = Object.values(InternalCloseCode).filter((c) => c >= 4000);
    expect(own.length).toBeGreaterThan(0);
    for (const code of own) expect(code >= 4100 && code <= 4199).toBe(true);
    for (const code of Object.values(CloseCode)) expect(code >= 4100 && code <= 4199).toBe(false);
    for (const code of Object.values(InternalCloseCode).filter((c) => c < 4000)) expect(code).toBeGreaterThanOrEqual(1000);
    expect(new Set(Object.values(InternalCloseCode)).size).toBe(Object.values(InternalCloseCode).length);
  });
});
