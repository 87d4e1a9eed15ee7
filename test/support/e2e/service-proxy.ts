/**
 * kube-proxy for one Service port, for the end-to-end tests: a client outside the cluster reaches
 * a Service through a load balancer, which forwards each new connection to one Ready endpoint.
 * No kube-proxy runs here, so this stands in for it: a TCP listener on 127.0.0.1 that follows the
 * Service's EndpointSlices (made by the real EndpointSlice controller from the Ready pods the test
 * node agent runs) and forwards each connection to the next Ready endpoint, round robin. A pod
 * that dies takes its connections with it; a client that reconnects lands on a pod still Ready —
 * what a user of the Service sees.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface ServiceProxyOptions {
  kc: KubeConfig;
  namespace: string;
  service: string;
  /** The Service port's name (the EndpointSlice port of that name is the target). */
  portName: string;
  /** How often the EndpointSlices are read again. Default 200 ms. */
  refreshMs?: number;
}

export class ServiceProxy {
  private readonly discovery: DiscoveryV1Api;
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly sockets = new Set<Socket>();
  private endpoints: Array<{ host: string; port: number }> = [];
  private next = 0;
  port = 0;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.discovery = opts.kc.makeApiClient(DiscoveryV1Api);
  }

  /** Listen, and follow the endpoints (resolves once they were read once). */
  async start(): Promise<void> {
    await this.refresh();
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('service proxy has no port');
    this.port = addr.port;
    this.server = server;
    const loop = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => this.server && loop()), this.opts.refreshMs ?? 200);
    };
    loop();
  }

  /** The Ready endpoints now, `host:port`. */
  get ready(): string[] {
    return this.endpoints.map((e) => `${e.host}:${e.port}`);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async refresh(): Promise<void> {
    try {
      const slices = await this.discovery.listNamespacedEndpointSlice({ namespace: this.opts.namespace, labelSelector: `kubernetes.io/service-name=${this.opts.service}` });
      const found: Array<{ host: string; port: number }> = [];
      for (const slice of slices.items) {
        const port = slice.ports?.find((p) => p.name === this.opts.portName)?.port;
        if (port === undefined || port === null) continue;
        for (const e of slice.endpoints ?? []) {
          if (e.conditions?.ready === false || e.conditions?.terminating === true) continue;
          for (const host of e.addresses ?? []) found.push({ host, port });
        }
      }
      this.endpoints = found.sort((a, b) => a.host.localeCompare(b.host));
    } catch {
      // keep the last endpoints; the next refresh tries again
    }
  }

  private accept(client: Socket): void {
    const target = this.endpoints.length > 0 ? this.endpoints[this.next++ % this.endpoints.length] : undefined;
    if (!target) {
      client.destroy(); // no Ready endpoint: the connection is refused, as kube-proxy rejects it
      return;
    }
    const upstream = connect(target.port, target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
