/**
 * Results of internal requests come off the wire from logic: checked here, once, before the
 * gate uses them. A malformed result is logic's bug, reported to the client as INTERNAL.
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { type InternalOp, type InternalResults, isChatMessage } from '../protocol/internal-frames.js';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const CHECKS: { [Op in InternalOp]: (v: unknown) => boolean } = {
  send: (v) => isObj(v) && isNat(v.seq) && isNat(v.ts),
  post: (v) => isObj(v) && isNat(v.seq) && isNat(v.ts),
  sync: (v) => isObj(v) && Array.isArray(v.messages) && v.messages.every(isChatMessage) && typeof v.more === 'boolean',
  login: (v) => isObj(v) && isNat(v.groups) && isNat(v.delivered),
  'members.update': (v) => isObj(v) && isNat(v.members),
  'members.get': (v) => isObj(v) && Array.isArray(v.members) && v.members.every((m) => typeof m === 'string'),
};

/** The typed result, or a ProtocolError(INTERNAL) naming the op whose result was malformed. */
export function checkResult<Op extends InternalOp>(op: Op, value: unknown): InternalResults[Op] {
  if (!CHECKS[op](value)) throw new ProtocolError(ErrorCode.INTERNAL, `logic returned a malformed ${op} result`);
  return value as InternalResults[Op];
}
