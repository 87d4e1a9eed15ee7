/**
 * The internal endpoint gates connect to: an HTTP server whose only route is the WebSocket
 * upgrade on INTERNAL_PATH. The upgrade is checked by a flat series of guards, each answered
 * with its own HTTP status and no socket opened:
 *
 *   no complete request within the handshake timeout → closed; wrong path → 404; shutting down
 *   → 503; bad or missing `Authorization: Bearer <internal token>` (compared in constant time) →
 *   401; missing or malformed gate headers → 401.
 *
 * Every refusal is counted (`imgroup_logic_internal_refused_total{reason}`) and logged through a
 * ThrottledLog: anyone who reaches the port can repeat them at will.
 *
 * Accepted links are kept alive with WebSocket pings every heartbeat; a link that did not answer
 * the previous ping (and sent nothing since) is terminated. Frames larger than maxPayloadBytes
 * close the link with 1009 (done by ws).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { matchesSecret, secretDigest } from '../auth/secret-compare.js';
import { type WebSocket, WebSocketServer } from 'ws';
import { GATE_BOOT_HEADER, GATE_HEADER, INTERNAL_PATH, isValidNodeName } from '../protocol/internal-frames.js';
import { GateLink, type GateLinks } from './gate-links.js';
import { enforceHandshakeDeadline } from '../ops/handshake-deadline.js';
import { writeRefusal } from '../ops/http-refusal.js';
import { listen } from '../ops/listen.js';
import type { ThrottledLog } from '../ops/throttled-log.js';
import type { LogicMetrics } from './logic-metrics.js';


export interface InternalServerOptions {
  host: string;
  port: number;
  internalToken: string;
  maxPayloadBytes: number;
  linkMaxBufferedBytes: number;
  heartbeatMs: number;
  /** A connection without a complete upgrade request this long after connecting is closed. */
  handshakeTimeoutMs: number;
  links: GateLinks;
  log: Logger;
  /** Refused upgrades and handshake timeouts are logged here, a few lines however many there are. */
  refusals: ThrottledLog;
  metrics: Pick<LogicMetrics, 'internalRefused' | 'handshakeTimeouts'>;
  onText(link: GateLink, text: string): void;
  onBinary(link: GateLink): void;
}

export interface InternalServer {
  port: number;
  /** Refuse new links (503); existing links stay. */
  stopAccepting(): void;
  /** Close every link with `code` and the server. */
  close(code: number, reason: string): Promise<void>;
}

/** Why an upgrade was refused: the `reason` label of imgroup_logic_internal_refused_total. */
export const REFUSAL_KINDS = ['not_found', 'shutting_down', 'missing_token', 'wrong_token', 'bad_gate_headers'] as const;
export type RefusalKind = (typeof REFUSAL_KINDS)[number];

/** The decision on one upgrade request (pure; exported for tests). */
export type UpgradeVerdict = { ok: true; gate: string; boot: string } | { ok: false; status: number; kind: RefusalKind; reason: string };

export function checkUpgrade(req: Pick<IncomingMessage, 'url' | 'headers'>, tokenDigest: Buffer, accepting: boolean): UpgradeVerdict {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== INTERNAL_PATH) return { ok: false, status: 404, kind: 'not_found', reason: `no such endpoint; gates connect to ${INTERNAL_PATH}` };
  if (!accepting) return { ok: false, status: 503, kind: 'shutting_down', reason: 'logic node is shutting down' };
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) return { ok: false, status: 401, kind: 'missing_token', reason: 'missing Authorization: Bearer <internal token>' };
  if (!matchesSecret(auth.slice('Bearer '.length), tokenDigest)) return { ok: false, status: 401, kind: 'wrong_token', reason: 'wrong internal token' };
  const gate = req.headers[GATE_HEADER];
  const boot = req.headers[GATE_BOOT_HEADER];
  if (typeof gate !== 'string' || !isValidNodeName(gate)) return { ok: false, status: 401, kind: 'bad_gate_headers', reason: `missing or malformed ${GATE_HEADER} header` };
  if (typeof boot !== 'string' || !isValidNodeName(boot)) return { ok: false, status: 401, kind: 'bad_gate_headers', reason: `missing or malformed ${GATE_BOOT_HEADER} header` };
  return { ok: true, gate, boot };
}

export async function startInternalServer(opts: InternalServerOptions): Promise<InternalServer> {
  const { links, log } = opts;
  const tokenDigest = secretDigest(opts.internalToken);
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes, perMessageDeflate: false, clientTracking: true });
  let accepting = true;
  const attached = new Map<WebSocket, GateLink>();

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' }).end(`gates open a WebSocket on ${INTERNAL_PATH}\n`);
  });

  for (const kind of REFUSAL_KINDS) opts.metrics.internalRefused.inc({ reason: kind }, 0);
  enforceHandshakeDeadline(server, opts.handshakeTimeoutMs, () => {
    opts.metrics.handshakeTimeouts.inc();
    opts.refusals.event('handshake_timeout', { timeoutMs: opts.handshakeTimeoutMs }, 'internal port: connection closed without a complete upgrade request within the handshake timeout');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const verdict = checkUpgrade(req, tokenDigest, accepting);
    if (!verdict.ok) {
      opts.metrics.internalRefused.inc({ reason: verdict.kind });
      opts.refusals.event(verdict.kind, { status: verdict.status, reason: verdict.reason, remote: req.socket.remoteAddress }, 'internal link refused');
      writeRefusal(socket, { status: verdict.status, contentType: 'text/plain', body: `${verdict.reason}\n` });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, verdict.gate, verdict.boot));
  });

  function attach(ws: WebSocket, gate: string, boot: string): void {
    const link = new GateLink(gate, boot, ws, opts.linkMaxBufferedBytes);
    attached.set(ws, link);
    links.add(link);
    log.info({ gate, boot, links: links.size }, 'gate linked');
    ws.on('message', (data, isBinary) => {
      try {
        if (isBinary) opts.onBinary(link);
        else opts.onText(link, data.toString());
      } catch (err) {
        log.error({ err, gate }, 'frame handler threw; frame dropped');
      }
    });
    ws.on('pong', () => {
      link.alive = true;
    });
    ws.on('error', (err) => log.warn({ err, gate }, 'gate link error'));
    ws.on('close', (code) => {
      attached.delete(ws);
      links.remove(link);
      log.info({ gate, boot, code, links: links.size }, 'gate link closed');
    });
  }

  const keepalive = setInterval(() => {
    for (const [ws, link] of attached) {
      if (!link.alive) {
        log.warn({ gate: link.gate }, 'gate link did not answer ping; terminating');
        ws.terminate();
        continue;
      }
      link.alive = false;
      ws.ping();
    }
  }, opts.heartbeatMs);
  keepalive.unref();

  const port = await listen(server, opts.port, opts.host);

  return {
    port,
    stopAccepting() {
      accepting = false;
    },
    async close(code: number, reason: string) {
      accepting = false;
      clearInterval(keepalive);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const ws of wss.clients) ws.close(code, reason);
      await waitClosed(wss, 2000);
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function waitClosed(wss: WebSocketServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
