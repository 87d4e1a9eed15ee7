/**
 * The ops port of every process: `/healthz` (the process is alive), `/readyz` (it can do its job)
 * and `/metrics` (Prometheus text format from the process's own registry).
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { listen } from './listen.js';

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
