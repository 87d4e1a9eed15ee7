/**
 * Refusing an HTTP request on its raw socket: one complete HTTP/1.1 response with the refusal's
 * status, then the connection is closed. The gate's client port and the logic node's internal
 * port answer every refused WebSocket handshake this way, before any WebSocket exists (each with
 * its own body: JSON error frame or plain text), and the gate a request Node's HTTP parser could
 * not read.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export interface HttpRefusal {
  /** HTTP status code (401, 404, 503 …). */
  status: number;
  contentType: string;
  body: string;
  /** Further response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/** Write the refusal and end the socket; nothing when the socket can no longer be written. */
export function writeRefusal(socket: Duplex, refusal: HttpRefusal): void {
  if (socket.destroyed || !socket.writable) return;
  const lines = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}`,
    'Connection: close',
    `Content-Type: ${refusal.contentType}`,
    `Content-Length: ${Buffer.byteLength(refusal.body)}`,
    ...Object.entries(refusal.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${refusal.body}`);
}
