/**
 * The ops port of every process: `/healthz` (the process is alive), `/readyz` (it can do its job)
 * and `/metrics` (Prometheus text format from the process's own registry). A connection without
 * a complete request within `handshakeTimeoutMs` is closed, as on the other ports.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { enforceHandshakeDeadline } from './handshake-deadline.js';
import { listen } from './listen.js';

/** The handshake timeout of ops ports whose process has no setting for it (the operator). */
export const DEFAULT_OPS_HANDSHAKE_TIMEOUT_MS = 5000;

export interface ReadinessCheck {
  name: string;
  /** Resolves to null when ready, or to a reason when not. Must not throw. */
  check: () => Promise<string | null> | string | null;
}

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  readiness: readonly ReadinessCheck[];
  /** Default DEFAULT_OPS_HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
}): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void Promise.all(opts.readiness.map(async (r) => [r.name, await Promise.resolve(r.check()).catch((e: Error) => e.message)] as const)).then(
        (results) => {
          const failing = results.filter(([, reason]) => reason !== null);
          const body = results.map(([name, reason]) => `${reason === null ? '[+]' : '[-]'}${name}${reason === null ? ' ok' : `: ${reason}`}`).join('\n');
          res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(`${body}\n`);
        },
      );
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
  });
  // Timeouts here are not counted: the ops port is not client-facing; the process's own port counts them.
  enforceHandshakeDeadline(server, opts.handshakeTimeoutMs ?? DEFAULT_OPS_HANDSHAKE_TIMEOUT_MS, () => undefined);
  const port = await listen(server, opts.port, opts.host);
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
