/**
 * A deadline for the first request of every TCP connection to an HTTP server: a connection that
 * has not delivered a complete request head (a WebSocket upgrade or a plain HTTP request) within
 * `timeoutMs` of connecting is destroyed. Node's own `headersTimeout` does not cover it: a
 * connection that never sends a byte is not checked at all, so without this deadline a silent
 * client holds a file descriptor for as long as it likes. After the first request, Node's
 * `keepAliveTimeout` closes idle keep-alive connections and a WebSocket has its heartbeat.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function enforceHandshakeDeadline(server: Server, timeoutMs: number, onTimeout: () => void): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const met = (socket: Socket): void => {
    const timer = deadlines.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    deadlines.delete(socket);
  };
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      deadlines.delete(socket);
      if (socket.destroyed) return;
      onTimeout();
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    deadlines.set(socket, timer);
    socket.once('close', () => met(socket));
  });
  server.on('request', (req: { socket: Socket }) => met(req.socket));
  // Only a server that handles upgrades elsewhere takes them over; with this listener alone, Node
  // would hand the upgrade to it and nothing else, so the deadline stays and closes the socket.
  server.on('upgrade', (req: { socket: Socket }) => {
    if (server.listenerCount('upgrade') > 1) met(req.socket);
  });
}
