/**
 * Properties of the client frame decoder over hostile input (fast-check): whatever text or bytes
 * arrive — random strings and bytes, lone surrogates, JSON of any shape, deep nesting, huge and
 * odd numbers, fields of the wrong type, prototype-pollution keys, path-traversal ids — it never
 * throws, and answers either a frame that passes every rule of its type (carrying no field it does
 * not know) or a documented error code with a short message and a valid request id (or null).
 * The table of single rejections is client-frames.test.ts; this file is the fuzzing of it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_FRAME_TYPES, type ClientFrame, type DecodeResult, decodeClientFrame, type FrameLimits, MAX_SEQ } from '../../../runtime/protocol/client-frames.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { isValidId, isValidRequestId } from '../../../runtime/protocol/ids.js';

/** Large frame limit, so that JSON.parse (not the size guard) meets deep and huge documents. */
const limits: FrameLimits = { maxFrameBytes: 4 * 1024 * 1024, maxBodyBytes: 256, maxSyncLimit: 500 };
/** The codes the decoder may answer with (README, "Client protocol v1"). */
const DECODER_CODES = new Set<string>([ErrorCode.BAD_FRAME, ErrorCode.FRAME_TOO_LARGE, ErrorCode.UNKNOWN_TYPE]);
/** An error message says what to change; it never echoes a frame back at length. */
const MAX_MESSAGE_CHARS = 300;
/** The fields each frame type carries; the decoder passes on nothing else. */
const FIELDS: Record<ClientFrame['type'], readonly string[]> = {
  ping: ['type'],
  send: ['type', 'id', 'groupId', 'body'],
  ack: ['type', 'groupId', 'seq'],
  sync: ['type', 'id', 'groupId', 'afterSeq', 'limit'],
};

const decodeText = (text: string): DecodeResult => decodeClientFrame(text, Buffer.byteLength(text, 'utf8'), limits);
const decodeValue = (value: unknown): DecodeResult => decodeText(JSON.stringify(value) ?? 'undefined');

const isSeq = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_SEQ;

/** Every rule a decoded frame must meet; the problems found (empty = a well-formed frame). */
function frameProblems(frame: ClientFrame): string[] {
  const problems: string[] = [];
  if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(frame.type)) problems.push(`unknown type ${String(frame.type)}`);
  if (Object.getPrototypeOf(frame) !== Object.prototype) problems.push('prototype is not Object.prototype');
  const extra = Object.keys(frame).filter((k) => !(FIELDS[frame.type] ?? []).includes(k));
  if (extra.length > 0) problems.push(`fields it does not know: ${extra.join(', ')}`);
  switch (frame.type) {
    case 'ping':
      break;
    case 'send':
      if (!isValidRequestId(frame.id)) problems.push('bad id');
      if (!isValidId(frame.groupId)) problems.push('bad groupId');
      if (typeof frame.body !== 'string' || Buffer.byteLength(frame.body) > limits.maxBodyBytes) problems.push('bad body');
      break;
    case 'ack':
      if (!isValidId(frame.groupId)) problems.push('bad groupId');
      if (!isSeq(frame.seq) || frame.seq < 1) problems.push('bad seq');
      break;
    case 'sync':
      if (!isValidRequestId(frame.id)) problems.push('bad id');
      if (!isValidId(frame.groupId)) problems.push('bad groupId');
      if (!isSeq(frame.afterSeq)) problems.push('bad afterSeq');
      if (frame.limit !== undefined && (!isSeq(frame.limit) || frame.limit < 1 || frame.limit > limits.maxSyncLimit)) problems.push('bad limit');
      break;
  }
  return problems;
}

/** The decoder's contract for any input: a frame that meets its rules, or a documented rejection. */
function expectContract(r: DecodeResult): void {
  if (r.ok) {
    expect(frameProblems(r.frame)).toEqual([]);
    return;
  }
  expect(DECODER_CODES.has(r.code), `code ${r.code}`).toBe(true);
  expect(typeof r.message).toBe('string');
  expect(r.message.length).toBeGreaterThan(5);
  expect(r.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  expect(r.id === null || isValidRequestId(r.id)).toBe(true);
}

// ------------------------------------------------------------------ arbitraries

/** Keys an attacker reaches for, and ids that look like paths, beside ordinary ones. */
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__');
/** Ids that name a path rather than a thing: dot segments, separators, escapes, NUL, controls. */
const traversalId = fc.constantFrom('..', '.', '../x', '..%2f', '%2e%2e', 'a/b', '/', '\\', '..\\x', 'a\u0000b', '\u0000', '', ' ', 'g\n', '\u202e', 'x'.repeat(129));
const hostileId = fc.oneof(traversalId, fc.constantFrom('__proto__', 'constructor', 'prototype'));
const validId = fc.stringMatching(/^[A-Za-z0-9_\-.:@]{1,16}$/).filter(isValidId);
const oddNumber = fc.constantFrom(0, -0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e308, -1e308, Number.MIN_VALUE, 1e21);
/** Numbers as JSON text, including ones JSON.parse turns into Infinity or rounds. */
const numberText = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '9007199254740993', '123456789012345678901234567890', '0.0', '-0', '1E2', '0e0'),
  fc.double().filter(Number.isFinite).map(String),
);
/** A value of any JSON type, prototype-pollution keys included. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  oddNumber,
  hostileId,
  fc.dictionary(fc.oneof(hostileKey, fc.string()), fc.jsonValue(), { maxKeys: 4 }),
);

/** A frame that is right in every field, as a client would build it. */
const validFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.constant({ type: 'ping' } as const),
  fc.record({
    type: fc.constant('send' as const),
    id: fc.string({ minLength: 1, maxLength: 128 }).filter(isValidRequestId),
    groupId: validId,
    body: fc.string({ maxLength: 64, unit: 'grapheme' }),
  }),
  fc.record({ type: fc.constant('ack' as const), groupId: validId, seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  fc.record(
    {
      type: fc.constant('sync' as const),
      id: fc.string({ minLength: 1, maxLength: 128 }).filter(isValidRequestId),
      groupId: validId,
      afterSeq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      limit: fc.integer({ min: 1, max: limits.maxSyncLimit }),
    },
    { requiredKeys: ['type', 'id', 'groupId', 'afterSeq'] },
  ),
);

/** A valid frame with one field replaced by a value of any type, or removed, or one more key added. */
const mutatedFrame = fc
  .tuple(validFrame, fc.constantFrom('type', 'id', 'groupId', 'body', 'seq', 'afterSeq', 'limit'), fc.option(anyValue, { nil: undefined }), fc.option(fc.tuple(hostileKey, anyValue), { nil: undefined }))
  .map(([frame, field, value, extra]) => {
    const out: Record<string, unknown> = { ...frame };
    if (value === undefined) delete out[field];
    else out[field] = value;
    if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true });
    return out;
  });

// ------------------------------------------------------------------ properties

describe('decodeClientFrame never throws and answers a frame or a documented code', () => {
  it('for arbitrary strings (lone surrogates and control characters included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => expectContract(decodeText(text))),
      { numRuns: 2000 },
    );
  });

  it('for arbitrary bytes read as UTF-8, with the byte count as received', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        expectContract(decodeClientFrame(buf.toString('utf8'), buf.length, limits));
      }),
      { numRuns: 2000 },
    );
  });

  it('for JSON values of any shape, and objects with any "type"', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ type: fc.oneof(fc.constantFrom(...CLIENT_FRAME_TYPES), fc.string(), anyValue) }), anyValue), (value) => expectContract(decodeValue(value))),
      { numRuns: 2000 },
    );
  });

  it('for frames with one field of the wrong type, missing, or a prototype-pollution key added; Object.prototype stays clean', () => {
    fc.assert(
      fc.property(mutatedFrame, (frame) => {
        const text = JSON.stringify(frame);
        const r = decodeText(text);
        expectContract(r);
        // A decoded `__proto__` is an own property of the parsed object, never the prototype.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'x')).toBe(false);
        if (r.ok) expect(Object.getPrototypeOf(r.frame)).toBe(Object.prototype);
      }),
      { numRuns: 3000 },
    );
  });

  it('for numbers written as JSON text in every numeric field (overflow to Infinity, beyond 2^53, negative zero)', () => {
    fc.assert(
      fc.property(fc.constantFrom('seq', 'afterSeq', 'limit'), numberText, (field, num) => {
        const base = field === 'seq' ? '{"type":"ack","groupId":"g"' : '{"type":"sync","id":"r","groupId":"g","afterSeq":0';
        const text = `${base},"${field}":${num}}`;
        const r = decodeText(text);
        expectContract(r);
        // What is accepted is exactly the number the text means: JSON.parse rounds 2^53 + 1 to 2^53,
        // and an exact integer above 2^53 - 1 must not pass as a seq.
        if (r.ok) expect(BigInt(Number(num)) <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('for deeply nested arrays and objects in any field, up to 200,000 levels', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.boolean(), fc.constantFrom('body', 'groupId', 'id', 'type', 'seq', '__proto__'), (depth, objects, field) => {
        const open = objects ? '{"a":'.repeat(depth) : '['.repeat(depth);
        const close = objects ? '}'.repeat(depth) : ']'.repeat(depth);
        const nested = `${open}1${close}`;
        const text = `{"type":"send","id":"n1","groupId":"g","body":"x","${field}":${nested}}`;
        const r = decodeText(text);
        expectContract(r);
        // In a field the frame has, nesting is a wrong type; in any other, the field is ignored.
        if (['body', 'groupId', 'id', 'type'].includes(field)) expect(r).toMatchObject({ ok: false, code: ErrorCode.BAD_FRAME });
        else expect(r).toEqual({ ok: true, frame: { type: 'send', id: 'n1', groupId: 'g', body: 'x' } });
        // The whole document nested (no frame object at the top) is rejected too.
        expectContract(decodeText(nested));
      }),
      { numRuns: 60 },
    );
  });

  it('for frames above maxFrameBytes: FRAME_TOO_LARGE before anything is parsed', () => {
    const small: FrameLimits = { ...limits, maxFrameBytes: 64 };
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 1_000_000 }), (text, extra) => {
        const r = decodeClientFrame(text, small.maxFrameBytes + extra, small);
        expect(r).toMatchObject({ ok: false, code: ErrorCode.FRAME_TOO_LARGE, id: null });
      }),
      { numRuns: 500 },
    );
  });
});

describe('decodeClientFrame on frames a client builds correctly', () => {
  it('returns exactly the frame that was sent (no field lost, none added)', () => {
    fc.assert(
      fc.property(validFrame, fc.dictionary(fc.stringMatching(/^x[a-z]{0,6}$/), fc.jsonValue(), { maxKeys: 3 }), (frame, unknownFields) => {
        // Unknown extra fields are ignored (forward compatibility) and not passed on.
        const r = decodeValue({ ...unknownFields, ...frame });
        expect(r).toEqual({ ok: true, frame });
      }),
      { numRuns: 2000 },
    );
  });

  it('answers an id in the path alphabet but shaped like a path segment or traversal as BAD_FRAME, keeping the request id', () => {
    fc.assert(
      fc.property(traversalId, fc.constantFrom('send', 'sync', 'ack'), (groupId, type) => {
        const frame = type === 'send' ? { type, id: 'r1', groupId, body: 'b' } : type === 'sync' ? { type, id: 'r1', groupId, afterSeq: 0 } : { type, groupId, seq: 1 };
        expect(decodeValue(frame)).toMatchObject({ ok: false, code: ErrorCode.BAD_FRAME, id: type === 'ack' ? null : 'r1' });
      }),
      { numRuns: 200 },
    );
  });
});
