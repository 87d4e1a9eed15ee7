/**
 * Builds the `send` and `sync` frames of app calls, refusing arguments the gate would refuse
 * (with the `BAD_FRAME` error the gate would send), so they fail at once instead of after a round trip.
 */
import type { SendFrame, SyncFrame } from '../protocol/client-frames.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { ID_RULE, isValidId, isValidRequestId } from '../protocol/ids.js';

function badFrame(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message);
}

export function buildSendFrame(id: string, groupId: string, body: string): SendFrame | ProtocolError {
  if (!isValidRequestId(id)) return badFrame('send id must be a string of 1-128 printable characters');
  if (!isValidId(groupId)) return badFrame(`groupId must be ${ID_RULE}; got ${JSON.stringify(String(groupId).slice(0, 140))}`);
  if (typeof body !== 'string') return badFrame('body must be a string');
  return { type: 'send', id, groupId, body };
}

export function buildSyncFrame(id: string, groupId: string, afterSeq: number, limit: number | undefined): SyncFrame | ProtocolError {
  if (!isValidId(groupId)) return badFrame(`groupId must be ${ID_RULE}; got ${JSON.stringify(String(groupId).slice(0, 140))}`);
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) return badFrame(`afterSeq must be an integer >= 0; got ${String(afterSeq)}`);
  if (limit === undefined) return { type: 'sync', id, groupId, afterSeq };
  if (!Number.isSafeInteger(limit) || limit < 1) return badFrame(`limit must be an integer >= 1; got ${String(limit)}`);
  return { type: 'sync', id, groupId, afterSeq, limit };
}
