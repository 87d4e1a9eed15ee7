/**
 * `imgroup/client`: a small typed client for imgroup gates (protocol v1), for Node and browsers.
 *
 * It keeps one logical connection open across gate restarts (jittered reconnect, unless the gate
 * closes with a terminal code 4500–4999), delivers each group's messages once and in seq order
 * (de-duplication, gap fill via `sync`), acknowledges them cumulatively, and retries unconfirmed
 * sends with the same id.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'; // Node 20; in browsers pass globalThis.WebSocket
 * import { ImgroupClient, ProtocolError } from 'imgroup/client';
 *
 * const client = new ImgroupClient({
 *   url: 'ws://127.0.0.1:8080/v1/ws',
 *   token: async () => fetchJwt(),       // called before every (re)connect
 *   WebSocket,
 * });
 * client.setLastSeq('team-42', await store.lastSeq('team-42')); // resume after a restart
 * client.on('message', (m) => {
 *   render(m.groupId, m.from, m.body);   // in seq order per group, each seq once
 *   void store.saveLastSeq(m.groupId, m.seq);
 * });
 * client.on('close', ({ code, willReconnect }) => willReconnect || showSignedOut(code));
 * await client.connect();                // resolves with the gate's welcome
 * try {
 *   const { seq } = await client.send('team-42', 'hello');
 * } catch (err) {
 *   if (err instanceof ProtocolError && err.code === 'NOT_MEMBER') leaveRoom('team-42');
 * }
 * const { messages, more } = await client.sync('team-42', 0, 50); // history, paged
 * client.close();
 * ```
 */
export {
  ImgroupClient,
  type ClientEvents,
  type ClientState,
  type CloseInfo,
  type SendResult,
  type SyncPage,
} from './imgroup-client.js';
export { type ClientOptions, type TokenSource } from './client-options.js';
export { ClientError, ClientErrorCode } from './client-errors.js';
export { backoffDelayMs, type BackoffBounds } from '../retry/backoff.js';
export type { WebSocketConstructor, WebSocketLike, MessageEventLike, CloseEventLike } from './web-socket-like.js';
export type { ChatMessage, WelcomeFrame } from '../protocol/client-frames.js';
export { CloseCode, ErrorCode, ProtocolError, isRetryable, shouldReconnect } from '../protocol/errors.js';
