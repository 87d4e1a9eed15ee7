/**
 * kube-proxy for one Service port, for the end-to-end tests: a client outside the cluster reaches
 * a Service through a load balancer, which forwards each new connection to one Ready endpoint.
 * No kube-proxy runs here, so this stands in for it: a TCP listener on 127.0.0.1 that follows the
 * Service's Ready endpoints and forwards each connection to the next one, round robin. A pod that
 * dies takes its connections with it; a client that reconnects lands on a pod still Ready — what a
 * user of the Service sees.
 *
 * The endpoints are computed as the EndpointSlice controller computes them — the pods the
 * Service's selector matches, Ready and not terminating, at their podIP and the container port the
 * Service's targetPort names — because that controller cannot publish them here: the test node
 * agent's pods live on 127.0.0.0/8, and the API server refuses loopback addresses in an
 * EndpointSlice.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export interface ServiceProxyOptions {
  kc: KubeConfig;
  namespace: string;
  service: string;
  /** The Service port's name (its targetPort, by number or by container port name, is the target). */
  portName: string;
  /** How often the Service and its pods are read again. Default 200 ms. */
  refreshMs?: number;
}

export class ServiceProxy {
  private readonly core: CoreV1Api;
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly sockets = new Set<Socket>();
  private endpoints: Array<{ host: string; port: number }> = [];
  private next = 0;
  port = 0;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
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
      const { namespace, service, portName } = this.opts;
      const svc = await this.core.readNamespacedService({ namespace, name: service });
      const selector = svc.spec?.selector ?? {};
      const targetPort = svc.spec?.ports?.find((p) => p.name === portName)?.targetPort;
      if (targetPort === undefined || Object.keys(selector).length === 0) {
        this.endpoints = [];
        return;
      }
      const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
      const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
      const found: Array<{ host: string; port: number }> = [];
      for (const pod of pods.items) {
        const host = pod.status?.podIP;
        const port = typeof targetPort === 'number' ? targetPort : containerPort(pod, targetPort);
        if (!host || port === undefined || pod.metadata?.deletionTimestamp || !isReady(pod)) continue;
        found.push({ host, port });
      }
      this.endpoints = found.sort((a, b) => `${a.host}:${a.port}`.localeCompare(`${b.host}:${b.port}`));
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

const isReady = (pod: V1Pod) => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The container port a Service's named targetPort resolves to in this pod, as the controller resolves it. */
function containerPort(pod: V1Pod, name: string): number | undefined {
  const n = Number(name);
  if (Number.isInteger(n) && String(n) === name) return n;
  for (const c of pod.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === name);
    if (port) return port.containerPort;
  }
  return undefined;
}
