/**
 * The TCP socket under an open `ws` WebSocket (ws 8 keeps it in `_socket` once the handshake is
 * done), for the two things ws has no API for: corking it so that several frames leave in one
 * `writev`, and writing frames the gate has framed itself. Null when it is not there or not a
 * writable stream; callers then fall back to plain `ws.send`.
 *
 * Safe because neither the gate nor a logic node makes ws queue a frame (no compression, no Blob data): every
 * `ws.send`, ping and close reaches the socket synchronously, so the socket's byte order is the
 * order of the calls, corked or not.
 *
 * `_socket` is private to ws: this module is the only place that reads it, package.json pins ws
 * to an exact version, and test/unit/net/raw-socket.test.ts fails if a real ws WebSocket stops
 * carrying it.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

export function rawSocketOf(ws: WebSocket): Socket | null {
  const s = (ws as unknown as { _socket?: unknown })._socket;
  if (typeof s !== 'object' || s === null) return null;
  const w = s as Partial<Socket>;
  if (typeof w.write !== 'function' || typeof w.cork !== 'function' || typeof w.uncork !== 'function') return null;
  return s as Socket;
}
