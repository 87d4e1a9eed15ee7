/**
 * A deadline for the first request of every TCP connection to an HTTP server: a connection that
 * has not delivered a complete request — its head (a WebSocket upgrade or a plain HTTP request)
 * and, for a plain request, its body — within `timeoutMs` of connecting is destroyed. Node's own
 * `headersTimeout` does not cover it: a connection that never sends a byte is not checked at all,
 * so without this deadline a silent client holds a file descriptor for as long as it likes; and
 * its `requestTimeout` (5 minutes) lets a body dripped a byte at a time hold one that long. A later
 * request on a keep-alive connection gets the same bound from its head on. After a complete
 * request, Node's `keepAliveTimeout` closes idle keep-alive connections and a WebSocket has its
 * heartbeat.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

export function enforceHandshakeDeadline(server: Server, timeoutMs: number, onTimeout: () => void): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  /** The plain request each socket is reading, while its deadline runs. */
  const reading = new WeakMap<Socket, IncomingMessage>();
  const met = (socket: Socket): void => {
    reading.delete(socket);
    const timer = deadlines.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    deadlines.delete(socket);
  };
  const arm = (socket: Socket): void => {
    const timer = setTimeout(() => {
      deadlines.delete(socket);
      const req = reading.get(socket);
      reading.delete(socket);
      if (socket.destroyed || req?.complete) return;
      onTimeout();
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    deadlines.set(socket, timer);
  };
  server.on('connection', (socket: Socket) => {
    arm(socket);
    socket.once('close', () => met(socket));
  });
  // The head is in; the deadline holds until the body is too (`complete`, set by the parser
  // whether or not the handler reads the body). A request of a keep-alive connection whose first
  // deadline is spent gets a deadline of its own.
  server.on('request', (req: IncomingMessage) => {
    const socket = req.socket;
    if (req.complete) {
      met(socket);
      return;
    }
    if (!deadlines.has(socket)) arm(socket);
    reading.set(socket, req);
    req.once('end', () => met(socket));
  });
  // Only a server that handles upgrades elsewhere takes them over; with this listener alone, Node
  // would hand the upgrade to it and nothing else, so the deadline stays and closes the socket.
  server.on('upgrade', (req: { socket: Socket }) => {
    if (server.listenerCount('upgrade') > 1) met(req.socket);
  });
}
