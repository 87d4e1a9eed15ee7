import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, MIN_BODY_BYTES, phaseIndex } from '../../../runtime/bench/message-body.js';

describe('benchmark message bodies', () => {
  it.each([MIN_BODY_BYTES, 100, 4096])('are exactly %i bytes and carry phase and send time', (bytes) => {
    const body = encodeBody('m', 1712345678901.2345, bytes);
    expect(Buffer.byteLength(body)).toBe(bytes);
    expect(decodeBody(body)).toEqual({ phase: phaseIndex('m'), sentAtMs: 1712345678901.235 });
  });

  it('keep the header whole when asked for less room than it needs', () => {
    expect(decodeBody(encodeBody('w', 1712345678901, 4))).toEqual({ phase: phaseIndex('w'), sentAtMs: 1712345678901 });
  });

  it.each([[undefined], [42], [''], ['hello'], ['x1712345678901.000 '], ['m '], ['mNaN xx'], ['m-5 xx'], ['m0 xx'], ['\u01771712345678901.000 x']])('refuse %j', (body) => {
    expect(decodeBody(body)).toBeNull();
  });
});
