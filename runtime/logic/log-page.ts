/**
 * One byte-bounded page of a group log, read by one Lua script (every key in the `{g:G}` slot):
 *
 *   membership check (optional) → start after a given seq, or after the member's cursor
 *   → XRANGE in small COUNT steps, adding entries while the page stays within maxBytes and
 *     maxCount → { more, the size of the first entry left out, bytes, start, entries }.
 *
 * A plain `XRANGE … COUNT n` makes Redis build the whole reply at once, whatever the entries
 * weigh: 1,000 entries of 15 KB are a 15 MB reply buffer in the Redis process for one request.
 * Here Redis never holds more than maxBytes of reply plus one step of entries (STEP_MAX at most,
 * fewer once the entries' average size is known). A page never exceeds maxBytes; when its first
 * entry alone is larger, the page is empty and `nextBytes` says how much a read of that one
 * entry needs (the caller decides whether to pay it: see log-reader.ts).
 *
 * Sizes are counted as `ENTRY_OVERHEAD_BYTES` + the lengths of the entry id and of every field
 * name and value as JSON writes them (a control character as 6 bytes, a quote or backslash as 2):
 * at least the size of the entry in the RESP reply, and about the size of its JSON `msg` frame —
 * so a page of bodies made of characters that need escaping still fits the client's send buffer.
 */
import type { ChatMessage } from '../protocol/client-frames.js';
import { keys } from '../redis/keys.js';
import { defineScript, type ScriptCall } from '../redis/redis-store.js';
import { parseEntries } from './message-log.js';

/** Fixed cost of one entry in a page: RESP framing and JSON keys, rounded up. */
export const ENTRY_OVERHEAD_BYTES = 64;
/** At most this many entries are read per XRANGE step inside the script. */
export const STEP_MAX = 64;
/** Entries of the first step, before the script knows how much an entry weighs. */
export const FIRST_STEP = 4;

// KEYS: members, cursors, log. ARGV: userId ('' = no membership check), start id ('' = after
// the user's cursor), maxCount, maxBytes, overhead, stepMax, firstStep.
const PAGE_SOURCE = `
if ARGV[1] ~= '' and redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {'not_member'} end
local after
local start = ARGV[2]
if start == '' then
  after = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') or 0
  if after < 0 then after = 0 end
  start = string.format('%d-0', after + 1)
else
  after = -1
end
local maxCount = tonumber(ARGV[3])
local maxBytes = tonumber(ARGV[4])
local overhead = tonumber(ARGV[5])
local stepMax = tonumber(ARGV[6])
local firstStep = tonumber(ARGV[7])
-- A value's bytes in the JSON frame the client gets: a control character becomes \\u00XX (6
-- bytes), a quote or backslash gets a backslash (2).
local function weight(v)
  local _, ctrl = string.gsub(v, '%c', '')
  local _, esc = string.gsub(v, '["\\\\]', '')
  return #v + 5 * ctrl + esc
end
local out = {'ok', 0, 0, 0, after}
local used, n = 0, 0
while true do
  local step = firstStep
  if n > 0 then step = math.floor((maxBytes - used) / (used / n)) + 1 end
  if step > maxCount - n + 1 then step = maxCount - n + 1 end
  if step > stepMax then step = stepMax end
  if step < 1 then step = 1 end
  local entries = redis.call('XRANGE', KEYS[3], start, '+', 'COUNT', step)
  for _, e in ipairs(entries) do
    if n >= maxCount then out[2] = 1; out[4] = used; return out end
    local size = overhead + #e[1]
    for _, v in ipairs(e[2]) do size = size + weight(v) end
    if used + size > maxBytes then out[2] = 1; out[3] = size; out[4] = used; return out end
    used = used + size
    n = n + 1
    out[#out + 1] = e
  end
  if #entries < step then out[4] = used; return out end
  start = '(' .. entries[#entries][1]
end
`;

export const PAGE_SCRIPT = defineScript('log_page', PAGE_SOURCE);

export interface PageRequest {
  groupId: string;
  /** Only a member of the group gets a page (null: no check). */
  memberCheck: string | null;
  /** Entries with seq > afterSeq; null: after `memberCheck`'s cursor (then memberCheck is required). */
  afterSeq: number | null;
  maxCount: number;
  maxBytes: number;
}

export type Page =
  | { kind: 'not_member' }
  | {
      kind: 'page';
      /** Oldest first. */
      messages: ChatMessage[];
      /** Entries follow the last one of the page (or the start, when the page is empty). */
      more: boolean;
      /** Size of the first entry left out for want of bytes (0: none was). */
      nextBytes: number;
      /** Bytes of the page, counted as the script counts them. */
      bytes: number;
      /** The seq the page starts after (the cursor when afterSeq was null). */
      afterSeq: number;
    };

/** The script call reading `req`. */
export function pageCall(req: PageRequest): ScriptCall {
  const g = req.groupId;
  if (req.afterSeq === null && req.memberCheck === null) throw new Error('a page after the cursor needs the member whose cursor it is');
  const start = req.afterSeq === null ? '' : `${req.afterSeq + 1}-0`;
  return {
    script: PAGE_SCRIPT,
    keys: [keys.groupMembers(g), keys.groupCursors(g), keys.groupLog(g)],
    args: [req.memberCheck ?? '', start, req.maxCount, req.maxBytes, ENTRY_OVERHEAD_BYTES, STEP_MAX, FIRST_STEP],
  };
}

/**
 * The script's reply → a Page. The reply is untrusted: counts must be non-negative safe
 * integers, and entries not of our form are skipped (as parseEntries does).
 */
export function parsePage(req: PageRequest, reply: unknown): Page {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw new Error('log_page returned an unexpected reply');
  if (reply[0] === 'not_member') return { kind: 'not_member' };
  if (reply[0] !== 'ok') throw new Error('log_page returned an unknown outcome');
  const [, more, nextBytes, bytes, after] = reply as unknown[];
  if (!isCount(more) || more > 1 || !isCount(nextBytes) || !isCount(bytes)) throw new Error('log_page returned malformed counts');
  const afterSeq = req.afterSeq ?? after;
  if (!isCount(afterSeq)) throw new Error('log_page returned a malformed start');
  return { kind: 'page', messages: parseEntries(req.groupId, reply.slice(5)), more: more === 1, nextBytes, bytes, afterSeq };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
