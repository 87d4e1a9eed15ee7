/**
 * Decodes server frames of protocol v1 on the client side. The gate is trusted to speak the
 * protocol, but a frame is still checked field by field before any number in it steers the
 * client's state (a seq of `1e300` or a missing `id` must not corrupt ordering or pending requests).
 */
import type { ErrorFrame, MsgFrame, ServerFrame, SyncResultFrame } from '../protocol/client-frames.js';
import { ErrorCode, isErrorCode } from '../protocol/errors.js';
import { isValidId, isValidRequestId } from '../protocol/ids.js';

export type ServerFrameDecodeResult =
  | { ok: true; frame: ServerFrame }
  /** A well-formed frame of a type this client does not know (a newer gate): skip it. */
  | { ok: true; frame: null }
  | { ok: false; message: string };

/** Largest heartbeat the client accepts from `welcome` (one hour); longer is surely a mistake. */
const MAX_HEARTBEAT_MS = 3_600_000;

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function fail(message: string): ServerFrameDecodeResult {
  return { ok: false, message };
}

function decodeMsg(f: Record<string, unknown>): MsgFrame | string {
  if (!isValidId(f.groupId)) return 'msg needs a valid "groupId"';
  if (!isSeq(f.seq)) return 'msg needs "seq": an integer >= 1';
  if (typeof f.from !== 'string') return 'msg needs "from": a string';
  if (typeof f.body !== 'string') return 'msg needs "body": a string';
  if (!isTimestamp(f.ts)) return 'msg needs "ts": a number';
  return { type: 'msg', groupId: f.groupId, seq: f.seq, from: f.from, body: f.body, ts: f.ts };
}

function decodeSyncResult(f: Record<string, unknown>): SyncResultFrame | string {
  if (!isValidRequestId(f.id)) return 'sync.result needs "id"';
  if (!isValidId(f.groupId)) return 'sync.result needs a valid "groupId"';
  if (typeof f.more !== 'boolean') return 'sync.result needs "more": a boolean';
  if (!Array.isArray(f.messages)) return 'sync.result needs "messages": an array';
  const messages: MsgFrame[] = [];
  let previousSeq = 0;
  for (const item of f.messages as unknown[]) {
    if (typeof item !== 'object' || item === null) return 'sync.result messages must be objects';
    const m = decodeMsg(item as Record<string, unknown>);
    if (typeof m === 'string') return `sync.result: ${m}`;
    if (m.groupId !== f.groupId) return 'sync.result holds a message of another group';
    if (m.seq <= previousSeq) return 'sync.result messages must be in ascending seq order';
    previousSeq = m.seq;
    messages.push(m);
  }
  return { type: 'sync.result', id: f.id, groupId: f.groupId, messages, more: f.more };
}

function decodeError(f: Record<string, unknown>): ErrorFrame | string {
  const id = f.id === null || f.id === undefined ? null : f.id;
  if (id !== null && !isValidRequestId(id)) return 'error "id" must be a request id or null';
  if (typeof f.code !== 'string') return 'error needs "code": a string';
  const message = typeof f.message === 'string' ? f.message : '';
  // A code this client does not know (a newer gate) is kept readable but treated as not retryable.
  if (!isErrorCode(f.code)) return { type: 'error', id, code: ErrorCode.INTERNAL, message: `${f.code}: ${message}` };
  return { type: 'error', id, code: f.code, message };
}

/** Decode one text frame from the gate. Never throws. */
export function decodeServerFrame(data: unknown): ServerFrameDecodeResult {
  if (typeof data !== 'string') return fail('server frames must be text');
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return fail('server frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('server frame must be a JSON object');
  const f = value as Record<string, unknown>;
  switch (f.type) {
    case 'msg': {
      const m = decodeMsg(f);
      return typeof m === 'string' ? fail(m) : { ok: true, frame: m };
    }
    case 'sent': {
      if (!isValidRequestId(f.id)) return fail('sent needs "id"');
      if (!isValidId(f.groupId)) return fail('sent needs a valid "groupId"');
      if (!isSeq(f.seq)) return fail('sent needs "seq": an integer >= 1');
      if (!isTimestamp(f.ts)) return fail('sent needs "ts": a number');
      return { ok: true, frame: { type: 'sent', id: f.id, groupId: f.groupId, seq: f.seq, ts: f.ts } };
    }
    case 'sync.result': {
      const r = decodeSyncResult(f);
      return typeof r === 'string' ? fail(r) : { ok: true, frame: r };
    }
    case 'error': {
      const e = decodeError(f);
      return typeof e === 'string' ? fail(e) : { ok: true, frame: e };
    }
    case 'pong':
      return { ok: true, frame: { type: 'pong' } };
    case 'welcome': {
      if (typeof f.userId !== 'string' || typeof f.connId !== 'string' || typeof f.gate !== 'string') {
        return fail('welcome needs string fields "userId", "connId" and "gate"');
      }
      const hb = f.heartbeatMs;
      if (typeof hb !== 'number' || !Number.isSafeInteger(hb) || hb < 1 || hb > MAX_HEARTBEAT_MS) {
        return fail(`welcome needs "heartbeatMs": an integer from 1 to ${MAX_HEARTBEAT_MS}`);
      }
      return { ok: true, frame: { type: 'welcome', userId: f.userId, connId: f.connId, gate: f.gate, heartbeatMs: hb } };
    }
    default:
      if (typeof f.type !== 'string') return fail('server frame needs a string field "type"');
      return { ok: true, frame: null };
  }
}
