/**
 * Client protocol v1: JSON text frames on `GET /v1/ws` of a gate.
 *
 * This module defines every frame type once, and the decoder that turns untrusted text into a
 * typed frame or a precise rejection. Encoding server frames is plain `JSON.stringify`.
 */
import { ErrorCode } from './errors.js';
import { ID_RULE, isValidId, isValidRequestId } from './ids.js';

// ---------------------------------------------------------------- client → server

export interface SendFrame {
  type: 'send';
  /** Client-chosen id; re-sending the same id within the idempotency window returns the same seq. */
  id: string;
  groupId: string;
  body: string;
}

export interface AckFrame {
  type: 'ack';
  groupId: string;
  /** Cumulative: the client has every message of the group up to and including this seq. */
  seq: number;
}

export interface SyncFrame {
  type: 'sync';
  id: string;
  groupId: string;
  /** Return messages with seq > afterSeq (0 = from the start of the retained log). */
  afterSeq: number;
  /** At most this many messages (1..maxSyncLimit; default when omitted: the gate's sync limit). */
  limit?: number;
}

export interface PingFrame {
  type: 'ping';
}

export type ClientFrame = SendFrame | AckFrame | SyncFrame | PingFrame;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ['send', 'ack', 'sync', 'ping'];

// ---------------------------------------------------------------- server → client

/** One group message as clients see it. */
export interface ChatMessage {
  groupId: string;
  seq: number;
  from: string;
  body: string;
  /** Milliseconds since the epoch at which the message was stored. */
  ts: number;
}

export interface MsgFrame extends ChatMessage {
  type: 'msg';
}

export interface WelcomeFrame {
  type: 'welcome';
  userId: string;
  connId: string;
  gate: string;
  /** The client should send `ping` at least this often; the gate drops silent connections. */
  heartbeatMs: number;
}

export interface SentFrame {
  type: 'sent';
  id: string;
  groupId: string;
  seq: number;
  ts: number;
}

export interface SyncResultFrame {
  type: 'sync.result';
  id: string;
  groupId: string;
  messages: MsgFrame[];
  /** True when more messages exist after the last one returned. */
  more: boolean;
}

export interface PongFrame {
  type: 'pong';
}

export interface ErrorFrame {
  type: 'error';
  /** The id of the request that failed, or null when the frame had none or could not be read. */
  id: string | null;
  code: ErrorCode;
  message: string;
}

export type ServerFrame = WelcomeFrame | MsgFrame | SentFrame | SyncResultFrame | PongFrame | ErrorFrame;

export function msgFrame(m: ChatMessage): MsgFrame {
  return { type: 'msg', groupId: m.groupId, seq: m.seq, from: m.from, body: m.body, ts: m.ts };
}

// ---------------------------------------------------------------- decoding

/** Limits the decoder enforces. The gate's options supply them. */
export interface FrameLimits {
  /** Largest accepted text frame, in UTF-8 bytes. */
  maxFrameBytes: number;
  /** Largest accepted `send.body`, in UTF-8 bytes. */
  maxBodyBytes: number;
  /** Largest accepted `sync.limit`. */
  maxSyncLimit: number;
}

export type DecodeResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id: string | null };

/** Largest seq a client may name; keeps every seq an exact integer in JSON and Lua. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

function reject(code: ErrorCode, message: string, id: string | null = null): DecodeResult {
  return { ok: false, code, message, id };
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_SEQ;
}

/**
 * Decode one client text frame. `byteLength` is the frame's size in bytes as received.
 * Never throws: every defect becomes a rejection with its error code and a message that says
 * what to change.
 */
export function decodeClientFrame(text: string, byteLength: number, limits: FrameLimits): DecodeResult {
  if (byteLength > limits.maxFrameBytes) {
    return reject(ErrorCode.FRAME_TOO_LARGE, `frame is ${byteLength} bytes; the limit is ${limits.maxFrameBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject(ErrorCode.BAD_FRAME, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject(ErrorCode.BAD_FRAME, 'frame must be a JSON object');
  }
  const f = value as Record<string, unknown>;
  const id = isValidRequestId(f.id) ? f.id : null;
  if (typeof f.type !== 'string') {
    return reject(ErrorCode.BAD_FRAME, 'frame needs a string field "type"', id);
  }
  switch (f.type) {
    case 'ping':
      return { ok: true, frame: { type: 'ping' } };
    case 'send': {
      if (!isValidRequestId(f.id)) return reject(ErrorCode.BAD_FRAME, 'send needs "id": a string of 1-128 characters', null);
      if (!isValidId(f.groupId)) return reject(ErrorCode.BAD_FRAME, `send needs "groupId": ${ID_RULE}`, id);
      if (typeof f.body !== 'string') return reject(ErrorCode.BAD_FRAME, 'send needs "body": a string', id);
      const bodyBytes = Buffer.byteLength(f.body, 'utf8');
      if (bodyBytes > limits.maxBodyBytes) {
        return reject(ErrorCode.FRAME_TOO_LARGE, `body is ${bodyBytes} bytes; the limit is ${limits.maxBodyBytes}`, id);
      }
      return { ok: true, frame: { type: 'send', id: f.id, groupId: f.groupId, body: f.body } };
    }
    case 'ack': {
      if (!isValidId(f.groupId)) return reject(ErrorCode.BAD_FRAME, `ack needs "groupId": ${ID_RULE}`);
      if (!isSeq(f.seq) || f.seq < 1) return reject(ErrorCode.BAD_FRAME, 'ack needs "seq": an integer >= 1');
      return { ok: true, frame: { type: 'ack', groupId: f.groupId, seq: f.seq } };
    }
    case 'sync': {
      if (!isValidRequestId(f.id)) return reject(ErrorCode.BAD_FRAME, 'sync needs "id": a string of 1-128 characters');
      if (!isValidId(f.groupId)) return reject(ErrorCode.BAD_FRAME, `sync needs "groupId": ${ID_RULE}`, id);
      if (!isSeq(f.afterSeq)) return reject(ErrorCode.BAD_FRAME, 'sync needs "afterSeq": an integer >= 0', id);
      if (f.limit !== undefined) {
        if (!isSeq(f.limit) || f.limit < 1 || f.limit > limits.maxSyncLimit) {
          return reject(ErrorCode.BAD_FRAME, `sync "limit" must be an integer from 1 to ${limits.maxSyncLimit}`, id);
        }
        return { ok: true, frame: { type: 'sync', id: f.id, groupId: f.groupId, afterSeq: f.afterSeq, limit: f.limit } };
      }
      return { ok: true, frame: { type: 'sync', id: f.id, groupId: f.groupId, afterSeq: f.afterSeq } };
    }
    default:
      return reject(
        ErrorCode.UNKNOWN_TYPE,
        `unknown frame type ${JSON.stringify(f.type.slice(0, 32))}; protocol v1 knows ${CLIENT_FRAME_TYPES.join(', ')}`,
        id,
      );
  }
}
