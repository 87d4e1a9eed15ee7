/**
 * Admin HTTP API of the gate (same port as `/v1/ws`), `Authorization: Bearer <IMGROUP_ADMIN_TOKEN>`.
 *
 *   PUT  /v1/groups/{groupId}/members   {"add":["u1"],"remove":["u2"]} → {"groupId","members":<count>}
 *   GET  /v1/groups/{groupId}/members   → {"groupId","members":["u1",…]}
 *   GET  /v1/users/{userId}/presence    → {"userId","online":bool,"devices":[{"gate","connId"}]}
 *   POST /v1/groups/{groupId}/messages  {"from":"system","body":"…"} → {"seq":n}
 *
 * Errors: {"error":{"code":"…","message":"…"}} with the status of HTTP_STATUS[code].
 */
import { type ErrorCode, HTTP_STATUS } from './errors.js';
import { ID_RULE, isValidId } from './ids.js';

export interface MembersChangeBody {
  add: string[];
  remove: string[];
}

export interface PostMessageBody {
  from: string;
  body: string;
}

export interface PresenceDevice {
  gate: string;
  connId: string;
}

export interface PresenceResponse {
  userId: string;
  online: boolean;
  devices: PresenceDevice[];
}

export interface AdminErrorBody {
  error: { code: ErrorCode; message: string };
}

export function adminError(code: ErrorCode, message: string): { status: number; body: AdminErrorBody } {
  return { status: HTTP_STATUS[code], body: { error: { code, message } } };
}

export type BodyResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Validate `{"add":[…],"remove":[…]}`; both optional, at least one id overall, at most `maxIds`. */
export function validateMembersChange(value: unknown, maxIds: number): BodyResult<MembersChangeBody> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'body must be a JSON object' };
  const v = value as Record<string, unknown>;
  const add = v.add ?? [];
  const remove = v.remove ?? [];
  for (const [name, list] of [['add', add], ['remove', remove]] as const) {
    if (!Array.isArray(list)) return { ok: false, message: `"${name}" must be an array of user ids` };
    const bad = list.findIndex((x) => !isValidId(x));
    if (bad >= 0) return { ok: false, message: `"${name}[${bad}]" is not a valid user id (${ID_RULE})` };
  }
  const a = add as string[];
  const r = remove as string[];
  if (a.length + r.length === 0) return { ok: false, message: 'name at least one user id in "add" or "remove"' };
  if (a.length + r.length > maxIds) return { ok: false, message: `at most ${maxIds} user ids per request` };
  const both = a.find((x) => r.includes(x));
  if (both !== undefined) return { ok: false, message: `user ${JSON.stringify(both)} is in both "add" and "remove"` };
  return { ok: true, value: { add: [...new Set(a)], remove: [...new Set(r)] } };
}

/** Validate `{"from":"system","body":"…"}`. `from` defaults to "system". */
export function validatePostMessage(value: unknown, maxBodyBytes: number): BodyResult<PostMessageBody> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'body must be a JSON object' };
  const v = value as Record<string, unknown>;
  const from = v.from ?? 'system';
  if (!isValidId(from)) return { ok: false, message: `"from" must be ${ID_RULE}` };
  if (typeof v.body !== 'string') return { ok: false, message: '"body" must be a string' };
  const bytes = Buffer.byteLength(v.body, 'utf8');
  if (bytes > maxBodyBytes) return { ok: false, message: `"body" is ${bytes} bytes; the limit is ${maxBodyBytes}` };
  return { ok: true, value: { from, body: v.body } };
}
