/**
 * The test node agent: plays the kubelet for one Node so that Pod objects on a real API server
 * become local processes, each pod on a loopback address of its own (127.0.0.<x>).
 *
 *   const agent = new NodeAgent({ kubeconfig, runtimes: [redisRuntime(), imgroupRuntime()],
 *                                 bind: { namespace, labelSelector: 'app=redis' } });
 *   await agent.start();      // Node + Lease registered, pods bound to the node are run
 *   …                         // agent.pod('redis-0').ip, agent.kill('redis-0'), agent.restartAll(…)
 *   await agent.stop();       // every process stopped, the Node removed
 *
 * It registers the Node (node-registration.ts), watches the pods bound to it
 * (`spec.nodeName=<node>`, pod-watch.ts) and runs each with a PodWorker (pod-worker.ts); with
 * `bind` it also binds pending pods that match a label selector (pod-binder.ts), since the
 * operator's tests run no scheduler. The fault hooks (kill, pause/resume, restartAll) act on the
 * processes the way node failures would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import type { ExitInfo } from '../../../runtime/dev/local-process.js';
import { readVersions } from '../../../hack/k8s/control-plane.mjs';
import { type AddressAllocator, sharedLoopbackAllocator } from './address-allocator.js';
import { AgentApi } from './agent-api.js';
import { DEFAULT_CAPACITY, HOST_IP, type NodeAgentOptions, type RestartAllOptions } from './node-agent-options.js';
import { kubernetesServiceEnv } from './kubernetes-service.js';
import { NodeRegistration } from './node-registration.js';
import { type BindSelector, PodBinder } from './pod-binder.js';
import { type PodAddressView, podDnsNatMap, removePodHosts, resolvePodHost, writePodHosts } from './pod-dns.js';
import { type PodInfo, podInfo } from './pod-info.js';
import { PodWatch } from './pod-watch.js';
import { PodWorker } from './pod-worker.js';

export type { NodeAgentOptions, RestartAllOptions } from './node-agent-options.js';

/** Node-level stops (stop, holdDown, restartAll) give a pod its own grace period, at most this. */
const NODE_STOP_GRACE_CAP_MS = 10_000;
export type { ContainerInfo, PodInfo } from './pod-info.js';

export class NodeAgent {
  readonly nodeName: string;
  readonly dataDir: string;
  private readonly ownsDataDir: boolean;
  private readonly api: AgentApi;
  /** The `kubernetes` Service variables every container gets (kubernetes-service.ts). */
  private readonly serviceEnv: Readonly<Record<string, string>>;
  private readonly log: Logger;
  private readonly registration: NodeRegistration;
  private readonly watch: PodWatch;
  private readonly binders: PodBinder[];
  private readonly workers = new Map<string, PodWorker>();
  /** Pods this agent has finished with (uids): never run again, even if a stale list shows them. */
  private readonly finished = new Set<string>();
  private readonly lastByName = new Map<string, Promise<void>>();
  private readonly allocator: AddressAllocator;
  private readonly podHostsDir: string;
  private readonly hostsFile: string;
  private hostsPending = false;
  private running = false;

  constructor(private readonly opts: NodeAgentOptions) {
    const kc = typeof opts.kubeconfig === 'string' ? loadKubeconfig(opts.kubeconfig) : opts.kubeconfig;
    this.api = new AgentApi(kc);
    const server = kc.getCurrentCluster()?.server;
    this.serviceEnv = server ? kubernetesServiceEnv(server) : {};
    this.log = (opts.log ?? pino({ level: 'silent' })).child({ component: 'node-agent' });
    this.nodeName = opts.nodeName ?? `agent-${Math.random().toString(16).slice(2, 10)}`;
    this.ownsDataDir = opts.dataDir === undefined;
    this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'imgroup-node-agent-'));
    this.allocator = opts.allocator ?? sharedLoopbackAllocator;
    this.podHostsDir = join(this.dataDir, 'pod-hosts');
    this.hostsFile = join(this.podHostsDir, `${this.nodeName}.json`);
    const labels = {
      'kubernetes.io/hostname': this.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      ...(opts.labels ?? {}),
    };
    const resyncMs = opts.resyncMs ?? 1000;
    this.registration = new NodeRegistration({
      api: this.api,
      nodeName: this.nodeName,
      labels,
      capacity: { ...DEFAULT_CAPACITY, ...(opts.capacity ?? {}) },
      hostIP: HOST_IP,
      kubeletVersion: readVersions().K8S_VERSION,
      ...(opts.leaseRenewMs !== undefined ? { leaseRenewMs: opts.leaseRenewMs } : {}),
      log: this.log,
    });
    this.watch = new PodWatch({
      api: this.api,
      fieldSelector: `spec.nodeName=${this.nodeName}`,
      resyncMs,
      log: this.log,
      onPod: (pod, deleted) => this.onPod(pod, deleted),
      onList: (pods, listStartedMs) => this.onList(pods, listStartedMs),
    });
    const selectors = opts.bind === undefined ? [] : Array.isArray(opts.bind) ? opts.bind : [opts.bind as BindSelector];
    this.binders = selectors.map((selector) => new PodBinder({ api: this.api, nodeName: this.nodeName, nodeLabels: labels, selector, resyncMs, log: this.log }));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.registration.start();
    writePodHosts(this.hostsFile, []);
    await this.watch.start();
    for (const b of this.binders) await b.start();
    this.log.info({ node: this.nodeName, dataDir: this.dataDir }, 'node agent started');
  }

  /**
   * Stop binding and watching, stop every pod's processes (SIGTERM, SIGKILL after `graceMs`,
   * default each pod's grace period capped at 10 s) and remove the data directory if the agent
   * made it. With deleteNodeOnStop (the default) the Node and its Lease are removed and so are the
   * pods bound to it, at once — what the pod garbage collector does to the pods of a deleted Node
   * (none runs in the test control planes; without it they would stay Terminating for ever once
   * deleted, and so would their namespace). Without it, Pods stay as a dead kubelet leaves them.
   */
  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const b of this.binders) await b.stop();
    await this.watch.stop();
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.stopForAgent(opts.graceMs ?? w.ownGraceMs(NODE_STOP_GRACE_CAP_MS))));
    this.workers.clear();
    const deleteNode = this.opts.deleteNodeOnStop ?? true;
    if (deleteNode) await this.deleteBoundPods();
    await this.registration.stop({ deleteNode });
    removePodHosts(this.hostsFile);
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.log.info({ node: this.nodeName }, 'node agent stopped');
  }

  private async deleteBoundPods(): Promise<void> {
    try {
      const pods = await this.api.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` });
      await Promise.all(pods.items.map((p) => this.api.deletePodNow(p.metadata?.namespace ?? 'default', p.metadata?.name ?? '', p.metadata?.uid ?? '').catch(() => undefined)));
    } catch (err) {
      this.log.warn({ err, node: this.nodeName }, 'could not delete the pods of the node');
    }
  }

  // -------------------------------------------------------------------------------------------
  // What runs here

  pods(): PodInfo[] {
    return [...this.workers.values()].map(podInfo);
  }

  /** The pod running here by name (namespace needed only when the name is ambiguous); null when none. */
  pod(name: string, namespace?: string): PodInfo | null {
    const w = this.find(name, namespace);
    return w ? podInfo(w) : null;
  }

  /** The pod's current address, or null. */
  podIP(name: string, namespace?: string): string | null {
    return this.find(name, namespace)?.podIP ?? null;
  }

  /** The address of a pod running here by its headless-Service DNS name (pod-dns.ts), or null. */
  resolve(host: string): string | null {
    return resolvePodHost(host, this.addressViews());
  }

  private addressViews(): PodAddressView[] {
    return [...this.workers.values()].map((w) => ({ namespace: w.namespace, name: w.name, hostname: w.podObject.spec?.hostname, subdomain: w.podObject.spec?.subdomain, ip: w.liveIP }));
  }

  /** Rewrite this node's pod hosts file (soon, once for a burst of changes). */
  private publishHosts(): void {
    if (this.hostsPending) return;
    this.hostsPending = true;
    setImmediate(() => {
      this.hostsPending = false;
      if (!this.running) return;
      try {
        writePodHosts(this.hostsFile, this.addressViews());
      } catch (err) {
        this.log.warn({ err, file: this.hostsFile }, 'pod hosts file not written');
      }
    });
  }

  /** An ioredis Cluster `natMap` for the pod DNS names Redis announces (podDnsNatMap for several agents). */
  natMap(): (key: string) => { host: string; port: number } | null {
    return podDnsNatMap(this);
  }

  // -------------------------------------------------------------------------------------------
  // Fault hooks

  /** Send `signal` (default SIGKILL) to the pod's processes (or one container's); resolves with their exits (null: did not exit within 10 s). */
  kill(podName: string, signal: NodeJS.Signals = 'SIGKILL', opts: { namespace?: string; container?: string } = {}): Promise<(ExitInfo | null)[]> {
    return this.get(podName, opts.namespace).signal(signal, opts.container);
  }

  /** SIGSTOP the pod's processes: they stop answering (probes fail; a liveness probe may restart them, as a kubelet would). */
  pause(podName: string, opts: { namespace?: string; container?: string } = {}): void {
    this.get(podName, opts.namespace).pause(opts.container);
  }

  /** SIGCONT what pause() froze. */
  resume(podName: string, opts: { namespace?: string; container?: string } = {}): void {
    this.get(podName, opts.namespace).resume(opts.container);
  }

  /**
   * Stop a pod's processes (SIGTERM, SIGKILL after `graceMs`, default the pod's grace up to 10 s; 0 = SIGKILL
   * at once) and keep them down — no restart — until bringUp: an outage of that pod. Its status
   * shows it not Ready meanwhile.
   */
  async holdDown(podName: string, opts: { namespace?: string; graceMs?: number } = {}): Promise<void> {
    const w = this.get(podName, opts.namespace);
    await w.hold(opts.graceMs ?? w.ownGraceMs(NODE_STOP_GRACE_CAP_MS));
  }

  /** Start a pod held down by holdDown again (a restart), on a new 127.0.0.<x> with newAddress. */
  async bringUp(podName: string, opts: { namespace?: string; newAddress?: boolean } = {}): Promise<void> {
    const w = this.get(podName, opts.namespace);
    if (!w.active) throw new Error(`pod ${w.key} is not running here (still starting, or ending)`);
    const address = opts.newAddress && w.podIP ? await this.allocator.allocate({ pod: w.key, ports: w.tcpPorts, avoid: [w.podIP] }) : undefined;
    await w.restartHeld(address);
  }

  /**
   * A node-wide restart: stop every process of every running pod, then (with newAddresses) give
   * each pod a new 127.0.0.<x>, and start everything again with the same volumes. Restart counts
   * go up; status.podIP follows the new address.
   */
  async restartAll(opts: RestartAllOptions = {}): Promise<void> {
    const workers = [...this.workers.values()].filter((w) => w.active);
    await Promise.all(workers.map((w) => w.hold(opts.graceMs ?? w.ownGraceMs(NODE_STOP_GRACE_CAP_MS))));
    const addresses = new Map<PodWorker, string>();
    if (opts.newAddresses) {
      const old = workers.map((w) => w.podIP).filter((ip): ip is string => ip !== null);
      for (const w of workers) {
        if (!w.podIP) continue;
        addresses.set(w, await this.allocator.allocate({ pod: w.key, ports: w.tcpPorts, avoid: old }));
      }
    }
    await Promise.all(workers.map((w) => w.restartHeld(addresses.get(w))));
  }

  /** The last lines of a container's log (default the pod's first container). */
  logTail(podName: string, opts: { namespace?: string; container?: string; lines?: number } = {}): string {
    const w = this.get(podName, opts.namespace);
    const runner = opts.container ? w.containers.find((c) => c.name === opts.container) : w.containers[0];
    return runner?.logTail(opts.lines ?? 20) ?? '(no such container)';
  }

  // -------------------------------------------------------------------------------------------

  private find(name: string, namespace?: string): PodWorker | null {
    const matches = [...this.workers.values()].filter((w) => w.name === name && (namespace === undefined || w.namespace === namespace));
    if (matches.length > 1) {
      const live = matches.filter((w) => !w.terminating);
      if (live.length === 1) return live[0] as PodWorker;
      throw new Error(`pod name ${name} is ambiguous on node ${this.nodeName}: give its namespace`);
    }
    return matches[0] ?? null;
  }

  private get(name: string, namespace?: string): PodWorker {
    const w = this.find(name, namespace);
    if (!w) throw new Error(`no pod ${namespace ? `${namespace}/` : ''}${name} runs on node ${this.nodeName}`);
    return w;
  }

  private onPod(pod: V1Pod, deleted: boolean): void {
    const uid = pod.metadata?.uid;
    if (!uid || !this.running) return;
    const worker = this.workers.get(uid);
    if (deleted) {
      worker?.gone();
      return;
    }
    if (worker) {
      worker.update(pod);
      return;
    }
    if (this.finished.has(uid) || pod.spec?.nodeName !== this.nodeName) return;
    // A completed pod is not run again (after an agent restart), but its deletion is still finished here.
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !pod.metadata?.deletionTimestamp) return;
    this.startWorker(pod, uid);
  }

  private onList(pods: readonly V1Pod[], listStartedMs: number): void {
    const present = new Set<string>();
    for (const pod of pods) {
      if (pod.metadata?.uid) present.add(pod.metadata.uid);
      this.onPod(pod, false);
    }
    // A pod first seen (by the watch) after the list was asked for may be missing from it: not gone.
    for (const [uid, w] of this.workers) if (!present.has(uid) && w.seenMs < listStartedMs) w.gone();
  }

  private startWorker(pod: V1Pod, uid: string): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    // A new pod of the same name waits for the old one's processes to be gone (same claim, same ports).
    const after = this.lastByName.get(key) ?? Promise.resolve();
    const backoff = { initialMs: 500, maxMs: 10_000, ...(this.opts.restartBackoff ?? {}) };
    const worker = new PodWorker(
      pod,
      {
        api: this.api,
        sources: {
          secret: (ns, name) => this.api.readSecret(ns, name),
          configMap: (ns, name) => this.api.readConfigMap(ns, name),
          claim: (ns, name) => this.api.readClaim(ns, name),
          token: (p, audience, seconds) => this.api.podToken(p, audience, seconds),
          caPem: () => this.api.clusterCaPem(),
        },
        hostIP: HOST_IP,
        dataDir: this.dataDir,
        nodeDir: join(this.dataDir, 'nodes', this.nodeName),
        allocator: this.allocator,
        runtimes: this.opts.runtimes,
        allocatable: { ...DEFAULT_CAPACITY, ...(this.opts.capacity ?? {}) },
        baseEnv: this.opts.hostEnv ?? { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
        serviceEnv: this.serviceEnv,
        backoff,
        probePeriodCapMs: this.opts.probePeriodCapMs,
        volumeRefreshMs: this.opts.volumeRefreshMs ?? 2000,
        retryMs: this.opts.retryMs ?? 1000,
        maxGraceMs: this.opts.maxTerminationGraceMs,
        podHostsDir: this.podHostsDir,
        onAddressChange: () => this.publishHosts(),
        log: this.log,
      },
      after,
    );
    this.workers.set(uid, worker);
    this.lastByName.set(key, worker.done);
    void worker.done.then(() => {
      this.finished.add(uid);
      if (this.workers.get(uid) === worker) this.workers.delete(uid);
      if (this.lastByName.get(key) === worker.done) this.lastByName.delete(key);
    });
  }
}

function loadKubeconfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
