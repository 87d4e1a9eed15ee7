import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, FIRST_STEP, type PageRequest, pageCall, parsePage, STEP_MAX } from '../../../runtime/logic/log-page.js';

const req: PageRequest = { groupId: 'g', memberCheck: 'alice', afterSeq: 4, maxCount: 10, maxBytes: 1000 };
const entry = (seq: number, body: string) => [`${seq}-1`, ['f', 'bob', 'b', body, 't', '1700000000000']];

describe('pageCall', () => {
  it('reads after a seq, or after the member’s cursor, within the page’s count and bytes', () => {
    expect(pageCall(req)).toMatchObject({
      keys: ['im:{g:g}:members', 'im:{g:g}:cursors', 'im:{g:g}:log'],
      args: ['alice', '5-0', 10, 1000, ENTRY_OVERHEAD_BYTES, STEP_MAX, FIRST_STEP],
    });
    expect(pageCall({ ...req, memberCheck: null }).args.slice(0, 2)).toEqual(['', '5-0']);
    expect(pageCall({ ...req, afterSeq: null }).args.slice(0, 2)).toEqual(['alice', '']);
  });

  it('refuses a page after the cursor of nobody', () => {
    expect(() => pageCall({ ...req, memberCheck: null, afterSeq: null })).toThrow(/cursor/);
  });
});

describe('parsePage', () => {
  it('reads a page, its continuation and its size', () => {
    expect(parsePage(req, ['ok', 1, 16_500, 200, -1, entry(5, 'hi'), entry(6, 'yo')])).toEqual({
      kind: 'page',
      messages: [
        { groupId: 'g', seq: 5, from: 'bob', body: 'hi', ts: 1_700_000_000_000 },
        { groupId: 'g', seq: 6, from: 'bob', body: 'yo', ts: 1_700_000_000_000 },
      ],
      more: true,
      nextBytes: 16_500,
      bytes: 200,
      afterSeq: 4,
    });
    expect(parsePage(req, ['not_member'])).toEqual({ kind: 'not_member' });
  });

  it('takes the start from the script when the page began at the cursor', () => {
    expect(parsePage({ ...req, afterSeq: null }, ['ok', 0, 0, 0, 17])).toMatchObject({ kind: 'page', messages: [], more: false, afterSeq: 17 });
  });

  it('skips entries not of our form', () => {
    expect(parsePage(req, ['ok', 0, 0, 10, -1, ['x-1', []], 'junk', entry(7, 'ok')])).toMatchObject({ messages: [{ seq: 7 }] });
  });

  it.each([
    ['not an array', 'OK'],
    ['an unknown outcome', ['maybe']],
    ['a "more" of 2', ['ok', 2, 0, 0, -1]],
    ['negative bytes', ['ok', 0, 0, -5, -1]],
    ['fractional next bytes', ['ok', 1, 1.5, 0, -1]],
    ['a string count', ['ok', '1', 0, 0, -1]],
  ])('rejects %s', (_name, reply) => {
    expect(() => parsePage(req, reply)).toThrow(/log_page/);
  });

  it('rejects a malformed cursor start', () => {
    expect(() => parsePage({ ...req, afterSeq: null }, ['ok', 0, 0, 0, -1])).toThrow(/start/);
  });
});
