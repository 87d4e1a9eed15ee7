/**
 * One pod bound to the agent's node, from first sight to deletion, as the kubelet's pod worker
 * keeps it:
 *   1. prepare: a loopback address, the volumes, every container's launch; a missing Secret,
 *      ConfigMap, claim or runtime leaves the pod Pending with the reason in its containers'
 *      waiting state and is tried again every `retryMs`;
 *   2. run: containers start (container-runner.ts); every change is written to the pod's status
 *      subresource; configMap/secret/projected files are refreshed every `volumeRefreshMs`;
 *   3. end: on a deletionTimestamp, SIGTERM, up to the grace period (the deletion's, else the
 *      pod's terminationGracePeriodSeconds), SIGKILL, then the pod is deleted with grace period 0
 *      (uid precondition); a pod gone from the API is stopped the same way; when the agent
 *      stops, processes stop and nothing is written. The address is released and emptyDirs are
 *      removed (claims stay).
 * Faults: `hold` stops every container without restarting it, `restartHeld` starts them again
 * (a restart), optionally on a new address.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatus } from '../../../operator/reconcile/api-errors.js';
import type { ExitInfo } from '../../../runtime/dev/local-process.js';
import type { AddressAllocator } from './address-allocator.js';
import { type AgentApi, kubeTime } from './agent-api.js';
import { ContainerConfigError, type NodeAllocatable } from './container-env.js';
import { ContainerRunner, type RestartBackoff } from './container-runner.js';
import type { RuntimeTable } from './container-runtimes.js';
import { containerLaunch, NoRuntimeError } from './pod-launch.js';
import { PodConditions, podPhase, podStatusPatch } from './pod-status.js';
import { type PreparedVolume, prepareVolumes, refreshVolumeFiles, type VolumeContext, VolumeError, type VolumeSources } from './pod-volumes.js';

export interface PodWorkerDeps {
  api: AgentApi;
  sources: VolumeSources;
  hostIP: string;
  dataDir: string;
  nodeDir: string;
  allocator: AddressAllocator;
  runtimes: RuntimeTable;
  allocatable: NodeAllocatable;
  baseEnv: Readonly<Record<string, string>>;
  /** The kubelet's `kubernetes` Service variables for every container. */
  serviceEnv: Readonly<Record<string, string>>;
  backoff: RestartBackoff;
  probePeriodCapMs: number | undefined;
  volumeRefreshMs: number;
  retryMs: number;
  /** Upper bound on any termination grace period (tests); default none. */
  maxGraceMs: number | undefined;
  /** Where the agents keep their pod hosts files (pod-dns.ts). */
  podHostsDir: string;
  /** The pod got, changed or gave up its address. */
  onAddressChange: () => void;
  log: Logger;
}

type Ending = { kind: 'deleted' | 'gone' | 'agent-stop'; graceMs: number | null };

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly podDir: string;
  /** When the agent first saw the pod (Date.now()). */
  readonly seenMs = Date.now();
  /** Settles when the pod's processes are stopped and (if deleted) the pod is gone from the API. */
  readonly done: Promise<void>;
  private pod: V1Pod;
  private runners: ContainerRunner[] = [];
  private volumes: PreparedVolume[] = [];
  private address: string | null = null;
  private addressHeld = false;
  private started = false;
  private problem: { reason: string; message: string } | null = null;
  private readonly conditions = new PodConditions();
  private readonly startTime = kubeTime();
  private ending: Ending | null = null;
  private wakeEnding: () => void = () => undefined;
  private readonly endingSignal: Promise<void>;
  private statusWrites = true;
  private statusDirty = false;
  private statusInFlight: Promise<void> | null = null;
  private lastWritten = '';

  constructor(
    pod: V1Pod,
    private readonly deps: PodWorkerDeps,
    /** Settles when an earlier pod of the same name has stopped: this one starts only then. */
    private readonly after: Promise<void> = Promise.resolve(),
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? 'default';
    this.name = pod.metadata?.name ?? '';
    this.podDir = join(deps.nodeDir, 'pods', `${this.namespace}_${this.name}_${this.uid.slice(0, 8)}`);
    this.endingSignal = new Promise((resolve) => (this.wakeEnding = resolve));
    this.runners = (pod.spec?.containers ?? []).map(
      (container) =>
        new ContainerRunner({
          pod: this.key,
          container,
          restartPolicy: pod.spec?.restartPolicy ?? 'Always',
          logFile: join(this.podDir, 'logs', `${container.name}.log`),
          backoff: deps.backoff,
          probePeriodCapMs: deps.probePeriodCapMs,
          terminationGraceMs: this.graceMs(null),
          log: deps.log,
          onChange: () => this.scheduleStatus(),
        }),
    );
    this.update(pod);
    this.done = this.lifecycle();
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** The pod's address (kept in its status after the pod completed). */
  get podIP(): string | null {
    return this.address;
  }

  /** The address while the pod holds it (running, not completed, not ending): what DNS answers. */
  get liveIP(): string | null {
    return this.addressHeld && !this.ending ? this.address : null;
  }

  /** The latest pod object seen. */
  get podObject(): V1Pod {
    return this.pod;
  }

  /** TCP ports the pod's containers declare (an address must have them free). */
  get tcpPorts(): number[] {
    return (this.pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort));
  }

  get containers(): readonly ContainerRunner[] {
    return this.runners;
  }

  get terminating(): boolean {
    return this.ending !== null;
  }

  /** Its containers were launched and it is not ending: what hold/restartHeld act on. */
  get active(): boolean {
    return this.started && this.ending === null;
  }

  /** A newer version of the pod from the API. */
  update(pod: V1Pod): void {
    if (pod.metadata?.uid !== this.uid) return;
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      const seconds = pod.metadata.deletionGracePeriodSeconds;
      this.end({ kind: 'deleted', graceMs: typeof seconds === 'number' ? seconds * 1000 : null });
    }
  }

  /** The pod is no longer in the API (or no longer bound here). */
  gone(): void {
    this.end({ kind: 'gone', graceMs: null });
  }

  /** The agent stops: stop the processes within `graceMs` (default the pod's own), write nothing. */
  stopForAgent(graceMs?: number): Promise<void> {
    this.end({ kind: 'agent-stop', graceMs: graceMs ?? null });
    return this.done;
  }

  async signal(signal: NodeJS.Signals, container?: string): Promise<(ExitInfo | null)[]> {
    return Promise.all(this.pick(container).map((r) => r.signal(signal)));
  }

  pause(container?: string): void {
    for (const r of this.pick(container)) r.pause();
  }

  resume(container?: string): void {
    for (const r of this.pick(container)) r.resume();
  }

  /** Host directory of each volume (by volume name), once prepared. */
  get volumePaths(): Record<string, string> {
    return Object.fromEntries(this.volumes.map((v) => [v.name, v.hostPath]));
  }

  /** Stop every process, not for good: they stay down until restartHeld. */
  async hold(graceMs: number): Promise<void> {
    if (!this.active) return;
    await Promise.all(this.runners.map((r) => r.hold(graceMs)));
  }

  /** Start every process again after hold, on `newAddress` if given (the old one is released). */
  async restartHeld(newAddress?: string): Promise<void> {
    if (!this.active) {
      if (newAddress) this.deps.allocator.release(newAddress);
      return;
    }
    if (newAddress && newAddress !== this.address) {
      if (this.address && this.addressHeld) this.deps.allocator.release(this.address);
      this.address = newAddress;
      this.addressHeld = true;
    }
    await this.launchAll();
    this.scheduleStatus();
    this.deps.onAddressChange();
  }

  // -------------------------------------------------------------------------------------------

  private pick(container?: string): ContainerRunner[] {
    if (container === undefined) return this.runners;
    const r = this.runners.find((x) => x.name === container);
    if (!r) throw new Error(`pod ${this.key} has no container ${container}`);
    return [r];
  }

  private end(ending: Ending): void {
    if (this.ending) return;
    this.ending = ending;
    this.wakeEnding();
  }

  /** The pod's termination grace (capped by maxGraceMs), at most `capMs`: for node-level stops. */
  ownGraceMs(capMs: number): number {
    return Math.min(capMs, this.graceMs(null));
  }

  private graceMs(override: number | null): number {
    const spec = this.pod.spec?.terminationGracePeriodSeconds;
    const ms = override ?? (typeof spec === 'number' ? spec * 1000 : 30_000);
    return this.deps.maxGraceMs !== undefined ? Math.min(ms, this.deps.maxGraceMs) : ms;
  }

  /** Wait `ms` or until the pod is ending; true when the time passed. */
  private async wait(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
      timer.unref();
    });
    const result = await Promise.race([slept, this.endingSignal.then(() => false)]);
    clearTimeout(timer);
    return result && !this.ending;
  }

  private async lifecycle(): Promise<void> {
    try {
      await Promise.race([this.after, this.endingSignal]);
      const unsupported = (this.pod.spec?.initContainers ?? []).length > 0;
      if (unsupported) {
        this.problem = { reason: 'InitContainersUnsupported', message: 'the test node agent does not run init containers' };
        for (const r of this.runners) r.setWaiting('CreateContainerConfigError', this.problem.message);
      }
      while (!unsupported && !this.ending && !(await this.tryStart())) await this.wait(this.deps.retryMs);
      while (!this.ending) {
        if (!(await this.wait(this.deps.volumeRefreshMs))) break;
        await this.refresh();
      }
      await this.finish();
    } catch (err) {
      this.deps.log.error({ err, pod: this.key }, 'pod worker failed');
      await Promise.all(this.runners.map((r) => r.stop(0)));
      this.releaseAddress();
    }
  }

  private async tryStart(): Promise<boolean> {
    try {
      if (!this.address) {
        this.address = await this.deps.allocator.allocate({ pod: this.key, ports: this.tcpPorts });
        this.addressHeld = true;
      }
      this.volumes = await prepareVolumes(this.pod, this.volumeContext());
      await this.launchAll();
      this.started = true;
      this.problem = null;
      this.scheduleStatus();
      this.deps.onAddressChange();
      return true;
    } catch (err) {
      const reason = err instanceof NoRuntimeError ? 'ErrImagePull' : err instanceof ContainerConfigError ? 'CreateContainerConfigError' : err instanceof VolumeError ? 'ContainerCreating' : 'RunContainerError';
      const message = (err as Error).message;
      if (this.problem?.message !== message) this.deps.log.info({ pod: this.key, reason, message }, 'pod cannot start yet');
      this.problem = { reason, message };
      for (const r of this.runners) r.setWaiting(reason, message);
      this.scheduleStatus();
      return false;
    }
  }

  /** Compute every container's launch first (a config error starts none), then run them. */
  private async launchAll(): Promise<void> {
    const podIP = this.address;
    if (!podIP) throw new Error(`pod ${this.key} has no address`);
    const specs = [];
    for (const runner of this.runners) {
      const container = (this.pod.spec?.containers ?? []).find((c) => c.name === runner.name);
      if (!container) continue;
      specs.push({
        runner,
        spec: await containerLaunch({
          pod: this.pod,
          container,
          podIP,
          hostIP: this.deps.hostIP,
          volumes: this.volumes,
          sources: this.deps.sources,
          runtimes: this.deps.runtimes,
          allocatable: this.deps.allocatable,
          baseEnv: this.deps.baseEnv,
          serviceEnv: this.deps.serviceEnv,
          podDir: this.podDir,
          podHostsDir: this.deps.podHostsDir,
        }),
      });
    }
    for (const { runner, spec } of specs) runner.run(spec);
  }

  private volumeContext(): VolumeContext {
    return { sources: this.deps.sources, dataDir: this.deps.dataDir, podDir: this.podDir, addresses: { podIP: this.address ?? '', hostIP: this.deps.hostIP } };
  }

  private async refresh(): Promise<void> {
    try {
      await refreshVolumeFiles(this.pod, this.volumes, this.volumeContext());
    } catch (err) {
      this.deps.log.debug({ err, pod: this.key }, 'volume refresh failed; keeping the files');
    }
    if (this.runners.every((r) => r.finished)) this.releaseAddress();
  }

  private async finish(): Promise<void> {
    const ending = this.ending ?? { kind: 'gone', graceMs: null };
    if (ending.kind === 'agent-stop') this.statusWrites = false;
    const graceMs = this.graceMs(ending.graceMs);
    this.deps.log.debug({ pod: this.key, ending: ending.kind, graceMs }, 'stopping pod');
    await Promise.all(this.runners.map((r) => r.stop(graceMs)));
    this.statusWrites = false;
    await this.statusInFlight;
    if (ending.kind === 'deleted') {
      try {
        await this.deps.api.deletePodNow(this.namespace, this.name, this.uid);
      } catch (err) {
        // 409: the uid precondition failed — a new pod of the same name; ours is gone already.
        if (apiStatus(err) !== 409) this.deps.log.warn({ err, pod: this.key }, 'final delete of the pod failed');
      }
    }
    this.releaseAddress();
    if (ending.kind !== 'agent-stop') rmSync(join(this.podDir, 'volumes'), { recursive: true, force: true });
  }

  private releaseAddress(): void {
    if (this.address && this.addressHeld) this.deps.allocator.release(this.address);
    if (this.addressHeld) this.deps.onAddressChange();
    this.addressHeld = false;
  }

  // -------------------------------------------------------------------------------------------
  // Status

  private scheduleStatus(): void {
    if (!this.statusWrites) return;
    this.statusDirty = true;
    if (this.statusInFlight) return;
    this.statusInFlight = (async () => {
      await new Promise((r) => setImmediate(r));
      while (this.statusDirty && this.statusWrites) {
        this.statusDirty = false;
        await this.writeStatus();
      }
      this.statusInFlight = null;
    })();
  }

  /** Is the pod gone from the API, or is the name a different pod's now? */
  private async replaced(): Promise<boolean> {
    try {
      const current = await this.deps.api.readPod(this.namespace, this.name);
      return current === null || current.metadata?.uid !== this.uid;
    } catch {
      return false;
    }
  }

  private async writeStatus(): Promise<void> {
    const containers = this.runners.map((r) => r.status());
    const patch = podStatusPatch(
      { restartPolicy: this.pod.spec?.restartPolicy ?? 'Always', podIP: this.address, hostIP: this.deps.hostIP, startTime: this.startTime, containers, problem: this.problem },
      this.conditions,
    );
    const text = JSON.stringify(patch);
    if (text === this.lastWritten) return;
    try {
      const found = await this.deps.api.patchPodStatus(this.namespace, this.name, this.uid, patch);
      this.lastWritten = text;
      if (!found) this.gone();
    } catch (err) {
      // A uid mismatch (the name belongs to a newer pod now) is refused as 409 or 422: look.
      const status = apiStatus(err);
      if ((status === 409 || status === 422) && (await this.replaced())) {
        this.gone();
        return;
      }
      this.deps.log.warn({ err, pod: this.key }, 'pod status write failed; retrying');
      setTimeout(() => this.scheduleStatus(), this.deps.retryMs).unref();
    }
    const phase = podPhase(this.pod.spec?.restartPolicy ?? 'Always', containers);
    if (phase === 'Succeeded' || phase === 'Failed') this.releaseAddress();
  }
}
