/**
 * The leadership fence against a real HTTP server on port 0 playing the API server: once the
 * Lease is lost, a request in flight is aborted and no new request leaves the process.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FencedKubeConfig } from '../../../../operator/controller/leadership-fence.js';
import { DeadlineKubeConfig } from '../../../../runtime/kube/kube-config.js';
import { eventually } from '../../../support/eventually.js';

describe('FencedKubeConfig', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  async function apiServer(): Promise<{ url: string; requests: string[]; held: ServerResponse[] }> {
    const requests: string[] = [];
    const held: ServerResponse[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url?.endsWith('/held')) {
        held.push(res); // answers never: a request the fence must cut off
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => {
      server.closeAllConnections();
      server.close();
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, held };
  }

  function kubeConfig(url: string): DeadlineKubeConfig {
    const kc = new DeadlineKubeConfig(60_000);
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  it('passes requests while leading; aborts the one in flight and refuses new ones once the Lease is lost', async () => {
    const api = await apiServer();
    const fence = new AbortController();
    const core = new FencedKubeConfig(kubeConfig(api.url), fence.signal).makeApiClient(CoreV1Api);

    expect((await core.readNamespace({ name: 'ns' })).metadata?.name).toBe('ns');
    const inFlight = core.readNamespace({ name: 'held' });
    await eventually('the request reached the server', () => api.held.length === 1, 10_000, 5);
    fence.abort(new Error('the leader Lease is lost'));
    await expect(inFlight).rejects.toThrow();

    const seen = api.requests.length;
    await expect(core.createNamespace({ body: { metadata: { name: 'late' } } })).rejects.toThrow(/Lease is lost/);
    expect(api.requests.length).toBe(seen);
  });

  it('keeps the request deadline of the KubeConfig it fences: a request without an answer fails, even after a garbage collection', async () => {
    const api = await apiServer();
    const from = new DeadlineKubeConfig(200);
    from.loadFromOptions(kubeConfig(api.url));
    const fenced = new FencedKubeConfig(from, new AbortController().signal);
    expect(fenced.requestTimeoutMs).toBe(200);
    expect(fenced.getCurrentCluster()?.server).toBe(api.url);
    const request = fenced.makeApiClient(CoreV1Api).readNamespace({ name: 'held' });
    await eventually('the request reached the server', () => api.held.length === 1, 10_000, 5);
    // A deadline only a composite signal refers to would be collected here (nodejs/node#57736).
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    await expect(request).rejects.toThrow();
  });
});
