/**
 * Errors the client raises on its own, next to `ProtocolError` (from the protocol module), which
 * carries the `ErrorCode` of an `error` frame the gate sent.
 *
 * A rejected `send()` or `sync()` rejects with exactly one of the two:
 * - `ProtocolError`: the gate refused the request with a non-retryable code (`NOT_MEMBER`,
 *   `BAD_FRAME`, `FRAME_TOO_LARGE`, …), or the client refused it locally for the reason the gate
 *   would (`BAD_FRAME` for an invalid group id).
 * - `ClientError`: the client gave up (`CLOSED`, `TIMEOUT`, `TOO_MANY_PENDING`, …).
 */

export const ClientErrorCode = {
  /** The app closed the client, or the gate closed it with a terminal code (see `closeCode`). */
  CLOSED: 'CLOSED',
  /** No confirmation arrived within `sendDeadlineMs` (sends) or `syncDeadlineMs` (syncs). */
  TIMEOUT: 'TIMEOUT',
  /** `maxPendingSends` (or `maxPendingSyncs`) requests are already waiting. Wait for some to settle. */
  TOO_MANY_PENDING: 'TOO_MANY_PENDING',
  /** A request with this id is already pending. Use a new id, or wait for the first to settle. */
  DUPLICATE_ID: 'DUPLICATE_ID',
  /** The token function threw or returned something other than a non-empty string. */
  TOKEN_FAILED: 'TOKEN_FAILED',
  /** The gate sent a frame the client could not read (reported on the `error` event). */
  BAD_SERVER_FRAME: 'BAD_SERVER_FRAME',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** For `CLOSED`: the WebSocket close code that ended the client, when the gate closed it. */
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}
