/**
 * Internal protocol between gates and logic nodes: JSON text frames over one persistent
 * WebSocket per (gate, logic node), opened by the gate to `<member url>/v1/internal`.
 *
 * Handshake headers (all required; logic answers 401 without opening the socket otherwise):
 *   Authorization: Bearer <IMGROUP_INTERNAL_TOKEN>
 *   X-Imgroup-Gate: <gate name>          (stable, e.g. the pod name)
 *   X-Imgroup-Gate-Boot: <boot id>       (random per gate process start)
 *
 * Gate → logic: requests (`t:"req"`, answered by exactly one `t:"res"` with the same rid),
 * and one-way notices (`ack`, `missed`). Logic → gate: responses, `deliver` pushes and the
 * `draining` notice of a node that shuts down.
 * Frames on one socket are processed in order, so a `deliver` sent before a `res` arrives first.
 */
import type { ChatMessage } from './client-frames.js';
import { CloseCode, type ErrorCode, isErrorCode } from './errors.js';

export const INTERNAL_PATH = '/v1/internal';

/**
 * Gate names, logic node ids and boot ids: 1-253 characters of A-Z a-z 0-9 . _ - starting with a
 * letter or digit (what a Kubernetes pod name satisfies). Gates generate boot ids in hex.
 */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function isValidNodeName(value: unknown): value is string {
  return typeof value === 'string' && NODE_NAME.test(value);
}

export const NODE_NAME_RULE = '1-253 characters of A-Z a-z 0-9 . _ - starting with a letter or digit';
export const GATE_HEADER = 'x-imgroup-gate';
export const GATE_BOOT_HEADER = 'x-imgroup-gate-boot';

/**
 * Close codes of the internal link, sent by a logic node to a gate. Besides the standard 1001,
 * the link's own codes are 4100–4199: a range that the client close codes (CloseCode in
 * errors.ts) never use, so a code in a log or a metric tells which kind of socket it closed.
 * The gate reconnects after any of them (with backoff); meanwhile it routes around the node.
 */
export const InternalCloseCode = {
  /** The logic node is shutting down; its groups move to other nodes of the ring. */
  GOING_AWAY: CloseCode.GOING_AWAY,
  /** A newer link of the same gate (a reconnect, or a restarted gate) replaced this one. */
  LINK_REPLACED: 4100,
} as const;

export type InternalCloseCode = (typeof InternalCloseCode)[keyof typeof InternalCloseCode];

// ---------------------------------------------------------------- requests (gate → logic)

/** A user's message into a group (membership is checked by logic). */
export interface SendRequest {
  op: 'send';
  userId: string;
  groupId: string;
  /** The client's id for the message: the idempotency key together with userId and groupId. */
  clientId: string;
  body: string;
}

/** Admin message: no membership check, `from` is free (e.g. "system"). */
export interface PostRequest {
  op: 'post';
  groupId: string;
  from: string;
  clientId: string;
  body: string;
}

export interface SyncRequest {
  op: 'sync';
  userId: string;
  groupId: string;
  afterSeq: number;
  limit: number;
}

/** A connection was opened: push it what the user has not acknowledged (routed by user id). */
export interface LoginRequest {
  op: 'login';
  userId: string;
  connId: string;
}

export interface MembersUpdateRequest {
  op: 'members.update';
  groupId: string;
  add: string[];
  remove: string[];
}

export interface MembersGetRequest {
  op: 'members.get';
  groupId: string;
}

export type InternalRequest = SendRequest | PostRequest | SyncRequest | LoginRequest | MembersUpdateRequest | MembersGetRequest;
export type InternalOp = InternalRequest['op'];

export interface SendResult {
  seq: number;
  ts: number;
}
export interface SyncResult {
  messages: ChatMessage[];
  more: boolean;
}
export interface LoginResult {
  /** Number of groups replayed. */
  groups: number;
  /** Number of messages pushed (as `deliver` frames before this response). */
  delivered: number;
}
export interface MembersUpdateResult {
  members: number;
}
export interface MembersGetResult {
  members: string[];
}

/** Result type of each request op. */
export interface InternalResults {
  send: SendResult;
  post: SendResult;
  sync: SyncResult;
  login: LoginResult;
  'members.update': MembersUpdateResult;
  'members.get': MembersGetResult;
}

export type ReqFrame = { t: 'req'; rid: number } & InternalRequest;

export type ResFrame =
  | { t: 'res'; rid: number; ok: true; result: unknown }
  | { t: 'res'; rid: number; ok: false; code: ErrorCode; message: string };

/** Cumulative acknowledgement of a user for a group (fire and forget). */
export interface AckNotice {
  t: 'ack';
  userId: string;
  groupId: string;
  seq: number;
}

/** The gate was asked to deliver to users that have no connection on it (stale presence). */
export interface MissedNotice {
  t: 'missed';
  groupId: string;
  users: string[];
}

/**
 * Why a message reaches a client connection (the `path` label of the gate's and logic's delivery
 * metrics): `online` live fan-out of a new message, `offline` a connection's login backlog,
 * `sweep` a re-push of what a user has not acknowledged, `gapfill` fetched by the gate itself to
 * close a gap in what it wrote to a connection.
 */
export const DELIVERY_PATHS = ['online', 'offline', 'sweep', 'gapfill'] as const;
export type DeliveryPath = (typeof DELIVERY_PATHS)[number];

/** The paths logic pushes `deliver` frames on: every DeliveryPath but the gate's own `gapfill`. */
export type PushPath = Exclude<DeliveryPath, 'gapfill'>;
export const PUSH_PATHS: readonly PushPath[] = DELIVERY_PATHS.filter((p): p is PushPath => p !== 'gapfill');

export function isPushPath(value: unknown): value is PushPath {
  return (PUSH_PATHS as readonly unknown[]).includes(value);
}

/**
 * Messages for users or for single connections on the receiving gate. `msgs` are of one group,
 * ascending by seq. Exactly one of `users` / `conns` is set.
 */
export interface DeliverFrame {
  t: 'deliver';
  groupId: string;
  msgs: ChatMessage[];
  users?: string[];
  conns?: string[];
  /** Why logic pushes it: metrics label on the gate. */
  path: PushPath;
}

/**
 * The logic node is shutting down: it answers the requests it has, refuses new ones with
 * UNAVAILABLE and will close the link. The gate routes around it at once and re-sends a request
 * it refuses to the new owner. Sent before any such refusal on the same socket.
 */
export interface DrainingNotice {
  t: 'draining';
}

export type GateToLogicFrame = ReqFrame | AckNotice | MissedNotice;
export type LogicToGateFrame = ResFrame | DeliverFrame | DrainingNotice;

// ---------------------------------------------------------------- decoding (untrusted even here)

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isStr(v: unknown, max = 1 << 20): v is string {
  return typeof v === 'string' && v.length <= max;
}
function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function isStrArray(v: unknown, maxLen: number): v is string[] {
  return Array.isArray(v) && v.length <= maxLen && v.every((x) => isStr(x, 256));
}
export function isChatMessage(v: unknown): v is ChatMessage {
  return isObj(v) && isStr(v.groupId, 256) && isNat(v.seq) && isStr(v.from, 256) && isStr(v.body) && isNat(v.ts);
}

/** Upper bound on ids in one internal frame (members.update, deliver, missed). */
export const MAX_IDS_PER_FRAME = 100_000;

/** The JSON object a frame's text holds; null when it is not JSON or not an object. */
function parseObject(text: string): Record<string, unknown> | null {
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch {
    return null;
  }
  return isObj(f) ? f : null;
}

/** Decode a gate → logic frame; null when malformed. */
export function decodeGateFrame(text: string): GateToLogicFrame | null {
  const f = parseObject(text);
  if (f === null) return null;
  if (f.t === 'ack') {
    return isStr(f.userId, 256) && isStr(f.groupId, 256) && isNat(f.seq) ? (f as unknown as AckNotice) : null;
  }
  if (f.t === 'missed') {
    return isStr(f.groupId, 256) && isStrArray(f.users, MAX_IDS_PER_FRAME) ? (f as unknown as MissedNotice) : null;
  }
  if (f.t !== 'req' || !isNat(f.rid)) return null;
  switch (f.op) {
    case 'send':
      return isStr(f.userId, 256) && isStr(f.groupId, 256) && isStr(f.clientId, 256) && isStr(f.body) ? (f as unknown as ReqFrame) : null;
    case 'post':
      return isStr(f.from, 256) && isStr(f.groupId, 256) && isStr(f.clientId, 256) && isStr(f.body) ? (f as unknown as ReqFrame) : null;
    case 'sync':
      return isStr(f.userId, 256) && isStr(f.groupId, 256) && isNat(f.afterSeq) && isNat(f.limit) ? (f as unknown as ReqFrame) : null;
    case 'login':
      return isStr(f.userId, 256) && isStr(f.connId, 256) ? (f as unknown as ReqFrame) : null;
    case 'members.update':
      return isStr(f.groupId, 256) && isStrArray(f.add, MAX_IDS_PER_FRAME) && isStrArray(f.remove, MAX_IDS_PER_FRAME)
        ? (f as unknown as ReqFrame)
        : null;
    case 'members.get':
      return isStr(f.groupId, 256) ? (f as unknown as ReqFrame) : null;
    default:
      return null;
  }
}

/** Decode a logic → gate frame; null when malformed. */
export function decodeLogicFrame(text: string): LogicToGateFrame | null {
  const f = parseObject(text);
  if (f === null) return null;
  if (f.t === 'res') {
    if (!isNat(f.rid)) return null;
    if (f.ok === true) return f as unknown as ResFrame;
    if (f.ok === false && isErrorCode(f.code) && isStr(f.message, 4096)) return f as unknown as ResFrame;
    return null;
  }
  if (f.t === 'draining') return { t: 'draining' };
  if (f.t === 'deliver') {
    if (!isStr(f.groupId, 256) || !Array.isArray(f.msgs) || !f.msgs.every(isChatMessage)) return null;
    if (!isPushPath(f.path)) return null;
    const hasUsers = f.users !== undefined;
    const hasConns = f.conns !== undefined;
    if (hasUsers === hasConns) return null;
    if (hasUsers && !isStrArray(f.users, MAX_IDS_PER_FRAME)) return null;
    if (hasConns && !isStrArray(f.conns, MAX_IDS_PER_FRAME)) return null;
    return f as unknown as DeliverFrame;
  }
  return null;
}
