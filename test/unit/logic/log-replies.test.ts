import { describe, expect, it } from 'vitest';
import { parseCursorHash } from '../../../runtime/logic/cursors.js';
import { type AppendInput, parseAppendReply, parseEntries } from '../../../runtime/logic/message-log.js';

const input: AppendInput = { groupId: 'g', from: 'alice', body: 'hi', idemUser: 'alice', clientId: 'c', memberCheck: 'alice' };

describe('parseAppendReply', () => {
  it('reads the three outcomes of the append script', () => {
    expect(parseAppendReply('g', input, ['ok', 7, 1_700_000_000_000])).toEqual({ kind: 'stored', message: { groupId: 'g', seq: 7, from: 'alice', body: 'hi', ts: 1_700_000_000_000 } });
    expect(parseAppendReply('g', input, ['dup', '7:1700000000000'])).toEqual({ kind: 'duplicate', seq: 7, ts: 1_700_000_000_000 });
    expect(parseAppendReply('g', input, ['not_member'])).toEqual({ kind: 'not_member' });
  });

  it.each([
    ['not an array', 'OK'],
    ['an unknown outcome', ['maybe']],
    ['a seq of 0', ['ok', 0, 1]],
    ['a fractional seq', ['ok', 1.5, 1]],
    ['a seq past 2^53', ['ok', 2 ** 60, 1]],
    ['a malformed idempotency record', ['dup', 'seven:now']],
  ])('throws on %s', (_name, reply) => {
    expect(() => parseAppendReply('g', input, reply)).toThrow(/log_append/);
  });
});

describe('parseEntries', () => {
  it('turns stream entries into messages and skips entries not of our form', () => {
    const reply = [
      ['1-1', ['f', 'alice', 'b', 'one', 't', '1000']],
      ['2-1', ['f', 'bob', 'b', '', 't', '1001']],
      ['0-1', ['f', 'x', 'b', 'bad id', 't', '1']],
      ['abc', ['f', 'x', 'b', 'bad id', 't', '1']],
      ['3-1', ['f', 'x', 't', '1002']],
      ['4-1', ['f', 'x', 'b', 'bad ts', 't', 'soon']],
      ['5-1', 'not fields'],
      'garbage',
    ];
    expect(parseEntries('g', reply)).toEqual([
      { groupId: 'g', seq: 1, from: 'alice', body: 'one', ts: 1000 },
      { groupId: 'g', seq: 2, from: 'bob', body: '', ts: 1001 },
    ]);
    expect(parseEntries('g', null)).toEqual([]);
  });
});

describe('parseCursorHash', () => {
  it('reads object and flat-array replies, treating malformed values as 0', () => {
    expect(parseCursorHash({ g1: '5', g2: 'x', g3: '-2' })).toEqual(new Map([['g1', 5], ['g2', 0], ['g3', 0]]));
    expect(parseCursorHash(['g1', '9', 'g2', '1'])).toEqual(new Map([['g1', 9], ['g2', 1]]));
    expect(parseCursorHash(null)).toEqual(new Map());
  });
});
