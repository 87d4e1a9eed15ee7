/**
 * The client port: HTTP server for the admin API and the WebSocket upgrade of `GET /v1/ws`.
 * The handshake is a flat series of guards, each refusing with its own HTTP status before any
 * WebSocket exists: no complete request within the handshake timeout → closed, unknown path 404,
 * gate shutting down or full 503, token missing, invalid or expired 401. Frames over the hard cap
 * (`maxPayload`) make ws close the socket with 1009, text that is not UTF-8 with 1007.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../ops/logger.js';
import { type AuthResult, extractToken, type TokenVerifier } from './auth.js';
import type { GateMetrics } from './gate-metrics.js';
import { enforceHandshakeDeadline } from '../ops/handshake-deadline.js';
import { writeRefusal } from '../ops/http-refusal.js';
import { listen } from '../ops/listen.js';
import type { ThrottledLog } from '../ops/throttled-log.js';

export const CLIENT_WS_PATH = '/v1/ws';

export interface GateServerOptions {
  host: string;
  port: number;
  /** Hard frame cap handed to ws (`maxPayload`). */
  hardFrameBytes: number;
  /** A connection without a complete request (upgrade or admin) this long after connecting is closed. */
  handshakeTimeoutMs: number;
}

export interface GateServerDeps {
  verifier: TokenVerifier;
  metrics: GateMetrics;
  log: Logger;
  /** Refused handshakes are logged here: a flood of them costs a few lines, not one each. */
  refusals: ThrottledLog;
  /** null when a new connection may be accepted, else why not (answered with 503). */
  refuseReason(): string | null;
  onConnection(ws: WebSocket, auth: Extract<AuthResult, { ok: true }>): void;
  onRequest(req: IncomingMessage, res: ServerResponse): void;
}

export interface GateServer {
  server: Server;
  port: number;
  /** Handshakes between authentication and the open WebSocket. */
  readonly handshakes: number;
  /** Stop listening; open connections stay. */
  stopAccepting(): Promise<void>;
  /** Drop whatever HTTP connections remain. */
  destroy(): void;
}

/**
 * Swallows errors of upgrading sockets (a client that vanishes mid-handshake must not crash the
 * gate; ws adds its own listener once the WebSocket is open). Module-level on purpose: an arrow
 * function inside the upgrade handler would share its closure scope, which holds `req`, so every
 * connection would keep its upgrade request (IncomingMessage, headers, token) alive for its life.
 */
function ignoreSocketError(): void {}

/** A refused client handshake: the status with a JSON error body `{ error: { code, message } }`. */
function refuse(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', message } });
  writeRefusal(socket, { status, contentType: 'application/json', body, headers });
}

export async function startGateServer(opts: GateServerOptions, deps: GateServerDeps): Promise<GateServer> {
  const log = deps.log.child({ component: 'gate-server' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.hardFrameBytes, perMessageDeflate: false, clientTracking: false });
  let handshakes = 0;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === CLIENT_WS_PATH) {
      res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade' });
      res.end(JSON.stringify({ error: { code: 'BAD_FRAME', message: `${CLIENT_WS_PATH} needs a WebSocket upgrade` } }));
      return;
    }
    deps.onRequest(req, res);
  });

  enforceHandshakeDeadline(server, opts.handshakeTimeoutMs, () => {
    deps.metrics.handshakeTimeouts.inc();
    deps.refusals.event('handshake_timeout', { timeoutMs: opts.handshakeTimeoutMs }, 'client port: connection closed without a complete request within the handshake timeout');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', ignoreSocketError);
    const path = (req.url ?? '/').split('?')[0];
    if (path !== CLIENT_WS_PATH) {
      refuse(socket, 404, `no WebSocket endpoint here; use ${CLIENT_WS_PATH}`);
      return;
    }
    const reason = deps.refuseReason();
    if (reason !== null) {
      refuse(socket, 503, reason, { 'Retry-After': '1' });
      return;
    }
    handshakes++;
    deps.verifier.verify(extractToken(req)).then(
      (auth) => {
        handshakes--;
        if (!auth.ok) {
          deps.metrics.authFailures.inc({ reason: auth.reason });
          deps.refusals.event(`auth_${auth.reason}`, { reason: auth.reason, remote: req.socket.remoteAddress }, 'client handshake refused with HTTP 401');
          refuse(socket, 401, auth.message, { 'WWW-Authenticate': 'Bearer' });
          return;
        }
        // Checked again: shutdown may have begun, or other handshakes filled the gate, meanwhile.
        const late = deps.refuseReason();
        if (late !== null || socket.destroyed) {
          refuse(socket, 503, late ?? 'closed', { 'Retry-After': '1' });
          return;
        }
        // Synchronous without verifyClient: it calls back with the open socket, or answers a
        // malformed handshake itself (400) without calling back.
        try {
          wss.handleUpgrade(req, socket, head, (ws) => deps.onConnection(ws, auth));
        } catch (err) {
          log.warn({ err }, 'WebSocket upgrade failed');
          socket.destroy();
        }
      },
      (err: unknown) => {
        handshakes--;
        log.error({ err }, 'token verification failed unexpectedly');
        refuse(socket, 503, 'authentication unavailable');
      },
    );
  });

  server.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'malformed HTTP request');
    if (socket.writable) writeRefusal(socket, { status: 400, contentType: 'text/plain', body: 'malformed HTTP request\n' });
    else socket.destroy();
  });

  const port = await listen(server, opts.port, opts.host);
  log.info({ host: opts.host, port }, 'client port listening');

  return {
    server,
    port,
    get handshakes() {
      return handshakes;
    },
    stopAccepting: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    destroy: () => {
      server.closeAllConnections();
      wss.close();
    },
  };
}
