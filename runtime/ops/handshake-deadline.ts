/**
 * Deadlines for what a client must send on a TCP connection to an HTTP server: the first request
 * head (a WebSocket upgrade or a plain HTTP request) within `timeoutMs` of connecting, and the body
 * of every plain request within `timeoutMs` of its head; a connection that misses one is destroyed
 * without an answer. Node's own `headersTimeout` does not cover the first: a connection that never
 * sends a byte is not checked at all, so a silent client would hold a file descriptor for as long
 * as it likes; and its `requestTimeout` (5 minutes) lets a body dripped a byte at a time hold one
 * that long. After a complete request, Node's `keepAliveTimeout` closes idle keep-alive
 * connections and a WebSocket has its heartbeat.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

export function enforceHandshakeDeadline(server: Server, timeoutMs: number, onTimeout: () => void): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const met = (socket: Socket): void => {
    const timer = deadlines.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    deadlines.delete(socket);
  };
  const expire = (socket: Socket): void => {
    if (socket.destroyed) return;
    onTimeout();
    socket.destroy();
  };
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      deadlines.delete(socket);
      expire(socket);
    }, timeoutMs);
    timer.unref();
    deadlines.set(socket, timer);
    socket.once('close', () => met(socket));
  });
  server.on('request', (req: IncomingMessage) => {
    met(req.socket);
    // `complete` is set by the parser once the body is in, whether or not the handler reads it;
    // `end` follows once it was read (or dumped after the response).
    if (req.complete) return;
    const bodyTimer = setTimeout(() => {
      if (!req.complete) expire(req.socket);
    }, timeoutMs);
    bodyTimer.unref();
    req.once('end', () => clearTimeout(bodyTimer));
  });
  // Only a server that handles upgrades elsewhere takes them over; with this listener alone, Node
  // would hand the upgrade to it and nothing else, so the deadline stays and closes the socket.
  server.on('upgrade', (req: { socket: Socket }) => {
    if (server.listenerCount('upgrade') > 1) met(req.socket);
  });
}
