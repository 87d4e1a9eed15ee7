/**
 * A real gate process (bin/imgroup.js, with a real logic node) fed hostile frames over real
 * sockets by fast-check: random bytes as text and as binary frames, invalid UTF-8, JSON of every
 * shape (deep, huge, wrong types, prototype-pollution keys), frames split into continuation frames
 * written by hand with pings between them, frames over the soft and the hard limit, and frames that
 * break RFC 6455. Each run is one fresh connection, and its outcome is the documented one: the
 * error frame the decoder's contract names (with the request id), or the close code of the README's
 * table. Meanwhile two well-behaved members on the same gate keep exchanging messages, none lost;
 * the gate stays up and ready, counts exactly the error frames it sent, and logs nothing at error
 * level (no log line per frame).
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_FRAME_TYPES, decodeClientFrame, type FrameLimits } from '../../../runtime/protocol/client-frames.js';
import { CloseCode, ErrorCode } from '../../../runtime/protocol/errors.js';
import { parseExposition, sampleSum } from '../../support/exposition.js';
import { RawClient } from '../../support/raw-client.js';
import { Opcode, type OutFrame, RawWsSocket } from '../../support/raw-ws-socket.js';
import { type GateHandle, TestSystem } from '../../support/system.js';

const MAX_FRAME_BYTES = 4096;
const HARD_FRAME_BYTES = 4 * MAX_FRAME_BYTES; // HARD_FRAME_FACTOR in runtime/gate/config.ts
const LIMITS: FrameLimits = { maxFrameBytes: MAX_FRAME_BYTES, maxBodyBytes: 1024, maxSyncLimit: 1000 };
/** Runs of the property; each opens one connection. Enough to meet every attack kind many times. */
const RUNS = 300;
/** The well-behaved sender's pause between two messages. */
const PACE_MS = 50;

let sys: TestSystem;
let gate: GateHandle;
const tag = randomBytes(3).toString('hex');

beforeAll(async () => {
  sys = await new TestSystem({
    redisSeeds: inject('redisSeeds'),
    logic: 1,
    gates: 1,
    // Longer than any run: a raw socket that does not answer the gate's pings is not closed for silence.
    heartbeatMs: 15_000,
    logLevel: 'info',
    env: {
      IMGROUP_MAX_FRAME_BYTES: String(LIMITS.maxFrameBytes),
      IMGROUP_MAX_BODY_BYTES: String(LIMITS.maxBodyBytes),
      IMGROUP_MAX_SYNC_LIMIT: String(LIMITS.maxSyncLimit),
    },
  }).start();
  gate = sys.gates[0]!;
});
afterAll(async () => {
  await sys?.stop();
});

// ------------------------------------------------------------------ what a run sends and expects

/** What the gate must answer one attack with. */
type Expected =
  | { close: number }
  /** Error frames in this order (code and id), then nothing else until the closing ping's pong. */
  | { errors: Array<{ code: string; id: string | null }>; pongs: number; reply: 'pong' | null };

interface Attack {
  name: string;
  frames: OutFrame[];
  expected: Expected;
}

const text = (payload: Buffer, fin = true): OutFrame => ({ opcode: Opcode.TEXT, payload, fin });

/** The answer to one complete text message, by the decoder's contract (the unit tests hold the decoder to it). */
function expectedForText(payload: Buffer, pongs: number): Expected {
  if (payload.length > HARD_FRAME_BYTES) return { close: CloseCode.MESSAGE_TOO_BIG };
  if (!isUtf8(payload)) return { close: CloseCode.INVALID_PAYLOAD };
  const r = decodeClientFrame(payload.toString('utf8'), payload.length, LIMITS);
  if (!r.ok) return { errors: [{ code: r.code, id: r.id }], pongs, reply: null };
  switch (r.frame.type) {
    case 'ping':
      return { errors: [], pongs, reply: 'pong' };
    case 'ack':
      return { errors: [], pongs, reply: null }; // forwarded to logic, answered with nothing
    case 'send':
    case 'sync':
      // The fuzzing user is a member of no group.
      return { errors: [{ code: ErrorCode.NOT_MEMBER, id: r.frame.id }], pongs, reply: null };
  }
}

/** A message split into continuation frames at `cuts`, with a ping between fragments where asked. */
function fragmented(opcode: number, payload: Buffer, cuts: number[], pingsAfter: boolean[]): { frames: OutFrame[]; pongs: number } {
  const points = [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    pieces.push(payload.subarray(start, p));
    start = p;
  }
  pieces.push(payload.subarray(start));
  const frames: OutFrame[] = [];
  let pongs = 0;
  pieces.forEach((piece, i) => {
    frames.push({ opcode: i === 0 ? opcode : Opcode.CONTINUATION, payload: piece, fin: i === pieces.length - 1 });
    if (i < pieces.length - 1 && pingsAfter[i % Math.max(1, pingsAfter.length)]) {
      frames.push({ opcode: Opcode.PING, payload: Buffer.from(`p${i}`) });
      pongs++;
    }
  });
  return { frames, pongs };
}

const prototypeKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString');
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e308, '..', '../x', 'a/b', '%2e%2e', 'a\u0000b', '', 'x'.repeat(129), '__proto__'),
  fc.dictionary(prototypeKeys, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
);
/** JSON text a client might send, right or wrong in any field. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .record({
      type: fc.oneof(fc.constantFrom(...CLIENT_FRAME_TYPES), fc.string({ maxLength: 40 }), oddValue),
      id: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), oddValue),
      groupId: fc.oneof(fc.constant(`fz-${tag}`), fc.stringMatching(/^[a-z0-9.:@_-]{1,12}$/), oddValue),
      body: fc.oneof(fc.string({ maxLength: 50 }), oddValue),
      seq: fc.oneof(fc.integer({ min: 1, max: 100 }), oddValue),
      afterSeq: fc.oneof(fc.integer({ min: 0, max: 100 }), oddValue),
      limit: fc.oneof(fc.integer({ min: 1, max: 1001 }), oddValue),
    }, { requiredKeys: ['type'] })
    .map((f) => JSON.stringify(f)),
  // The same JSON as text with a key `__proto__` (JSON.stringify of a record drops it).
  fc.tuple(fc.constantFrom(...CLIENT_FRAME_TYPES), fc.jsonValue({ maxDepth: 2 })).map(([type, v]) => `{"__proto__":${JSON.stringify(v)},"type":"${type}","id":"pp","groupId":"g","body":"b","seq":1,"afterSeq":0}`),
  // Deep nesting, within the frame limit and far beyond what a recursive reader would survive.
  fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.boolean()).map(([d, arr]) => (arr ? `{"type":"send","id":"deep","groupId":"g","body":${'['.repeat(d)}${']'.repeat(d)}}` : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`)),
  // Huge and odd numbers as JSON text.
  fc.constantFrom('1e400', '-0', '9007199254740993', '1'.repeat(400), '0.1e-400').map((n) => `{"type":"ack","groupId":"g","seq":${n}}`),
);

const cutsArb = fc.array(fc.nat(20_000), { maxLength: 6 });
const pingsArb = fc.array(fc.boolean(), { maxLength: 6 });

/** A text message of `payload`, whole or in fragments (with pings between them). */
const textMessage = (payloadArb: fc.Arbitrary<Buffer>, name: string): fc.Arbitrary<Attack> =>
  fc.tuple(payloadArb, fc.boolean(), cutsArb, pingsArb).map(([payload, split, cuts, pings]) => {
    const { frames, pongs } = split ? fragmented(Opcode.TEXT, payload, cuts, pings) : { frames: [text(payload)], pongs: 0 };
    // A message over the hard limit is refused when its size is known: before any ping after it.
    const expected = expectedForText(payload, pongs);
    return { name: `${name}${split ? ` in ${frames.filter((f) => f.opcode !== Opcode.PING).length} fragments` : ''}`, frames, expected };
  });

const attacks: fc.Arbitrary<Attack> = fc.oneof(
  // Random bytes as a text message: mostly invalid UTF-8 (1007), sometimes text that is not a frame.
  textMessage(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), 'random bytes as text'),
  // Random strings (any code point, lone surrogates written as U+FFFD by UTF-8 encoding).
  textMessage(fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s, 'utf8')), 'random text'),
  // Valid UTF-8 with one invalid sequence put in somewhere: overlong, a surrogate, a lone continuation byte, a cut sequence.
  textMessage(
    fc.tuple(jsonText, fc.constantFrom([0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]), fc.nat()).map(([t, bad, at]) => {
      const b = Buffer.from(t, 'utf8');
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), Buffer.from(bad), b.subarray(i)]);
    }),
    'invalid UTF-8 inside JSON',
  ),
  textMessage(jsonText.map((t) => Buffer.from(t, 'utf8')), 'JSON'),
  // Well-formed requests of a user who is a member of nothing: NOT_MEMBER (send, sync), nothing (ack).
  textMessage(
    fc
      .oneof(
        fc.record({ type: fc.constant('send'), id: fc.string({ minLength: 1, maxLength: 8 }).filter((x) => !/[\u0000-\u001f]/.test(x)), groupId: fc.constantFrom(`fz-pair-${tag}`, 'general', '__proto__', 'constructor'), body: fc.string({ maxLength: 20 }) }),
        fc.record({ type: fc.constant('sync'), id: fc.string({ minLength: 1, maxLength: 8 }).filter((x) => !/[\u0000-\u001f]/.test(x)), groupId: fc.constantFrom(`fz-pair-${tag}`, 'general', '__proto__'), afterSeq: fc.nat(10) }),
        fc.record({ type: fc.constant('ack'), groupId: fc.constantFrom(`fz-pair-${tag}`, '__proto__'), seq: fc.integer({ min: 1, max: 2 ** 40 }) }),
      )
      .map((f) => Buffer.from(JSON.stringify(f))),
    'a request of a non-member',
  ),
  // Over the frame limit (FRAME_TOO_LARGE) or over the hard limit (1009), whole or fragmented.
  textMessage(fc.integer({ min: MAX_FRAME_BYTES - 16, max: HARD_FRAME_BYTES + 2048 }).map((n) => Buffer.from(`{"type":"send","id":"big","groupId":"g","body":"${'x'.repeat(Math.max(0, n - 48))}"}`)), 'large JSON'),
  // Binary messages: BAD_FRAME with id null, or 1009 over the hard limit.
  fc.tuple(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: HARD_FRAME_BYTES - 8, max: HARD_FRAME_BYTES + 8 }).map((n) => new Uint8Array(n))), fc.boolean(), cutsArb, pingsArb).map(([bytes, split, cuts, pings]) => {
    const payload = Buffer.from(bytes);
    const { frames, pongs } = split ? fragmented(Opcode.BINARY, payload, cuts, pings) : { frames: [{ opcode: Opcode.BINARY, payload }], pongs: 0 };
    const expected: Expected = payload.length > HARD_FRAME_BYTES ? { close: CloseCode.MESSAGE_TOO_BIG } : { errors: [{ code: ErrorCode.BAD_FRAME, id: null }], pongs, reply: null };
    return { name: `binary of ${payload.length} bytes${split ? ' in fragments' : ''}`, frames, expected };
  }),
  // Frames that break RFC 6455: the WebSocket layer closes with 1002.
  fc
    .oneof(
      fc.constant<[string, OutFrame[]]>(['an unmasked text frame', [{ opcode: Opcode.TEXT, payload: Buffer.from('{"type":"ping"}'), mask: false }]]),
      fc.integer({ min: 1, max: 7 }).map((rsv): [string, OutFrame[]] => [`reserved bits ${rsv}`, [{ opcode: Opcode.TEXT, payload: Buffer.from('{"type":"ping"}'), rsv }]]),
      fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf).map((opcode): [string, OutFrame[]] => [`opcode ${opcode}`, [{ opcode, payload: Buffer.from('x') }]]),
      fc.boolean().map((fin): [string, OutFrame[]] => ['a continuation without a start', [{ opcode: Opcode.CONTINUATION, payload: Buffer.from('{}'), fin }]]),
      fc.constant<[string, OutFrame[]]>(['a new text frame inside a fragmented one', [text(Buffer.from('{"ty'), false), text(Buffer.from('pe":"ping"}'))]]),
      fc.constant<[string, OutFrame[]]>(['a fragmented ping', [{ opcode: Opcode.PING, payload: Buffer.from('a'), fin: false }]]),
      fc.integer({ min: 126, max: 2000 }).map((n): [string, OutFrame[]] => [`a ping of ${n} bytes`, [{ opcode: Opcode.PING, payload: Buffer.alloc(n) }]]),
      fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((code): [string, OutFrame[]] => {
        const p = Buffer.alloc(2);
        p.writeUInt16BE(code);
        return [`a close frame with code ${code}`, [{ opcode: Opcode.CLOSE, payload: p }]];
      }),
      fc.constant<[string, OutFrame[]]>(['a close frame of one byte', [{ opcode: Opcode.CLOSE, payload: Buffer.from([3]) }]]),
    )
    .map(([name, frames]): Attack => ({ name, frames, expected: { close: CloseCode.PROTOCOL_ERROR } })),
  // A close frame whose reason is not UTF-8: 1007. A valid close: echoed with the client's own code.
  fc.constant<Attack>({ name: 'a close reason of invalid UTF-8', frames: [{ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) }], expected: { close: CloseCode.INVALID_PAYLOAD } }),
  fc.oneof(fc.constant(1000), fc.integer({ min: 3000, max: 4999 })).map((code): Attack => {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    return { name: `a clean close with ${code}`, frames: [{ opcode: Opcode.CLOSE, payload: p }], expected: { close: code } };
  }),
);

// ------------------------------------------------------------------ the well-behaved pair

/** Two members of one group on the same gate: one sends, one receives, for as long as the fuzzing runs. */
class Conversation {
  readonly groupId = `fz-pair-${tag}`;
  sent = 0;
  private running = true;
  private loop: Promise<void> | null = null;
  private constructor(
    readonly alice: RawClient,
    readonly bob: RawClient,
  ) {}

  static async start(): Promise<Conversation> {
    const [a, b] = [`fz-alice-${tag}`, `fz-bob-${tag}`];
    const alice = await RawClient.connect(gate.wsUrl, await sys.token(a));
    const bob = await RawClient.connect(gate.wsUrl, await sys.token(b));
    sys.track(alice.ws);
    sys.track(bob.ws);
    const c = new Conversation(alice, bob);
    await sys.addMembers(c.groupId, [a, b]);
    const loop = c.run();
    loop.catch(() => undefined); // reported by stop()
    c.loop = loop;
    return c;
  }

  /** One message in flight at a time, at most one per PACE_MS (well within the send rate). */
  private async run(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const r = await this.alice.request({ type: 'send', id: `pair-${i}`, groupId: this.groupId, body: `hello ${i}` });
      if (r.type !== 'sent') throw new Error(`the well-behaved send ${i} was answered ${JSON.stringify(r)}`);
      this.sent++;
      await this.bob.waitMessages(this.groupId, this.sent);
      await new Promise((resolve) => setTimeout(resolve, PACE_MS)); // pacing, not a wait for a state
    }
  }

  /** Stop sending; rethrows what went wrong in the loop. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

// ------------------------------------------------------------------ the property

/** Error-level (and worse) lines of a process's log: pino writes `"level":50` and up. */
function errorLines(name: string): string[] {
  return readFileSync(join(sys.dir, `${name}.log`), 'utf8')
    .split('\n')
    .filter((l) => {
      if (!l.startsWith('{')) return l.trim().length > 0; // anything not from pino (a stack trace) counts too
      return (JSON.parse(l) as { level?: number }).level! >= 50;
    });
}

async function scrape(): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition(await sys.metrics(gate));
}

async function runAttack(attack: Attack, user: string): Promise<{ errorFrames: number }> {
  const sock = await RawWsSocket.connect(gate.port, '/v1/ws', { authorization: `Bearer ${await sys.token(user)}` });
  try {
    await sock.until('welcome', () => sock.json().some((f) => f.type === 'welcome'));
    sock.write(...attack.frames);
    const expected = attack.expected;
    if ('close' in expected) {
      const code = await sock.closed();
      expect({ attack: attack.name, close: code, errors: sock.json().filter((f) => f.type === 'error') }).toEqual({ attack: attack.name, close: expected.close, errors: [] });
      return { errorFrames: 0 };
    }
    // A ping frame of the protocol after the attack: its pong comes after every answer to the attack
    // (sends and syncs are answered by logic, so their error is awaited by id first).
    const ids = expected.errors.map((e) => e.id).filter((id): id is string => id !== null);
    await sock.until(`answers to ${attack.name}`, () => ids.every((id) => sock.json().some((f) => f.id === id)));
    sock.write(text(Buffer.from('{"type":"ping"}')));
    const wantPongs = (expected.reply === 'pong' ? 1 : 0) + 1;
    await sock.until(`pong after ${attack.name}`, () => sock.json().filter((f) => f.type === 'pong').length >= wantPongs);
    const frames = sock.json().filter((f) => f.type !== 'welcome');
    expect({ attack: attack.name, errors: frames.filter((f) => f.type === 'error').map((f) => ({ code: f.code, id: f.id })), others: frames.filter((f) => f.type !== 'error' && f.type !== 'pong') }).toEqual({
      attack: attack.name,
      errors: expected.errors,
      others: [],
    });
    expect(sock.frames.filter((f) => f.opcode === Opcode.PONG).length).toBe(expected.pongs);
    expect(sock.closeCode()).toBeNull();
    return { errorFrames: expected.errors.length };
  } finally {
    sock.destroy();
  }
}

describe('a real gate fed hostile frames over real sockets', () => {
  it(`answers each of ${RUNS} hostile connections as documented while two members keep talking; no error log, nothing uncounted`, { timeout: 180_000 }, async () => {
    const before = await scrape();
    const errorsBefore = sampleSum(before.get('imgroup_gate_frame_errors_total'));
    const conversation = await Conversation.start();
    let errorFrames = 0;
    let run = 0;
    let interleavedPings = 0;
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(attacks, async (attack) => {
        const r = await runAttack(attack, `fz-${tag}-${run++}`);
        errorFrames += r.errorFrames;
        if (!('close' in attack.expected)) interleavedPings += attack.expected.pongs;
        const closeKind = (code: number) => (code >= 3000 ? 'close echoed (3000-4999)' : `close ${code}`);
        const kind = 'close' in attack.expected ? closeKind(attack.expected.close) : attack.expected.errors.map((e) => e.code).join('+') || attack.expected.reply || 'nothing';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }),
      // No shrinking: each run is a real connection, and after a crash every shrunk run would fail alike.
      { numRuns: RUNS, endOnFailure: true },
    );
    await conversation.stop();
    console.log(`hostile frames: ${run} connections, outcomes ${JSON.stringify(Object.fromEntries(kinds))}, ${interleavedPings} pings between fragments answered; the pair exchanged ${conversation.sent} messages meanwhile`);

    // The well-behaved pair: every message sent arrived, in order, once; nothing refused.
    expect(conversation.sent).toBeGreaterThan(0);
    expect(conversation.bob.messages(conversation.groupId).map((m) => m.seq)).toEqual(Array.from({ length: conversation.sent }, (_, i) => i + 1));
    expect([...conversation.alice.frames, ...conversation.bob.frames].filter((f) => f.type === 'error')).toEqual([]);
    // Every outcome kind was met (a generator that stopped producing one would test nothing).
    for (const kind of ['close 1002', 'close 1007', 'close 1009', 'BAD_FRAME', 'FRAME_TOO_LARGE', 'NOT_MEMBER']) expect([...kinds.keys()], kind).toContain(kind);
    expect(interleavedPings).toBeGreaterThan(0);

    // The process is up and ready; every error frame it sent is counted, and none was logged at error level.
    expect(gate.process.running).toBe(true);
    expect((await fetch(`${gate.opsUrl}/readyz`)).status).toBe(200);
    const after = await scrape();
    expect(sampleSum(after.get('imgroup_gate_frame_errors_total')) - errorsBefore).toBe(errorFrames);
    expect(errorLines(gate.name)).toEqual([]);
    expect(errorLines(sys.logic[0]!.name)).toEqual([]);
  });
});
