/**
 * A real Kubernetes control plane for tests: etcd + kube-apiserver (+ kube-controller-manager
 * with the namespace, garbage-collector and serviceaccount controllers; no kubelet, no scheduler,
 * no workload controllers) on free loopback ports, in a temporary directory removed by stop().
 * The processes die with the test process, however it dies.
 *
 * The implementation is hack/k8s/control-plane.mjs, shared with `make cluster-up`; this file
 * picks ports and a directory, retries on a port taken between probe and bind, and builds the
 * binaries (hack/k8s/build.sh) when asked to.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApiAuth,
  type ApiRequestOptions,
  type ApiResponse,
  apiRequest,
  binariesPresent,
  buildBinaries,
  DEFAULT_CONTROLLERS,
  defaultBinDir,
  type StartedControlPlane,
  startControlPlane,
} from '../../hack/k8s/control-plane.mjs';
import { getFreePorts } from './free-ports.js';

export { apiRequest, DEFAULT_CONTROLLERS };
export type { ApiAuth, ApiRequestOptions, ApiResponse };

export interface TestControlPlaneOptions {
  /** Binaries from hack/k8s/build.sh. Default: `build.sh --print-bin-dir` (honours IMGROUP_CACHE_DIR). */
  binDir?: string;
  /** kube-controller-manager controllers; [] runs none. Default namespace, garbagecollector, serviceaccount. */
  controllers?: readonly string[];
  /** Bound on each readiness wait. Default 120000 ms. */
  timeoutMs?: number;
  /** Record every write in an audit log (auditLogPath). Default false. */
  audit?: boolean;
  log?: (line: string) => void;
}

export interface TestControlPlane {
  /** Admin kubeconfig (embedded credentials, context `imgroup-local`). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the cluster CA. */
  caData: string;
  /** PEM client certificate and key in group system:masters. */
  adminCredentials: { clientCertificate: string; clientKey: string };
  /** Admin credentials for apiRequest. */
  auth: ApiAuth;
  /** kubectl of the same build. */
  kubectl: string;
  /** The temporary directory: pki/, etcd/, logs/<component>.log, kubeconfig. */
  dir: string;
  /** JSON lines, one audit event per write, with `audit`; else null. */
  auditLogPath: string | null;
  /** An API request with the admin credentials. */
  request(method: string, path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse>;
  /** Stop kube-apiserver only (etcd keeps the data), e.g. to test that a client reconnects. */
  stopApiServer(): Promise<void>;
  /** Start kube-apiserver again on the same port and wait for /readyz. */
  startApiServer(): Promise<void>;
  /** Stop every component and remove the directory. */
  stop(): Promise<void>;
}

const ATTEMPTS = 3;

/**
 * The admin credentials of a kubeconfig written by the control plane (as `inject('kubeconfig')`
 * gives it): server, CA and client certificate, for apiRequest. Not a general kubeconfig parser.
 */
export function readKubeconfigAuth(kubeconfigPath: string): ApiAuth {
  const text = readFileSync(kubeconfigPath, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name}: (\\S+)$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`${kubeconfigPath} has no ${name}`);
    return m[1];
  };
  const pem = (name: string): string => Buffer.from(field(name), 'base64').toString('utf8');
  return {
    server: field('server'),
    caData: pem('certificate-authority-data'),
    certPem: pem('client-certificate-data'),
    keyPem: pem('client-key-data'),
  };
}

/** kubectl of the control plane's build (built or not). */
export function kubectlPath(): string {
  return join(defaultBinDir(), 'kubectl');
}

/** The binaries' directory, built first (minutes to tens of minutes when cold) if missing. */
export async function ensureControlPlaneBinaries(log: (line: string) => void = () => {}): Promise<string> {
  const binDir = defaultBinDir();
  if (binariesPresent(binDir)) return binDir;
  log(`Kubernetes control plane binaries missing in ${binDir}: building them with hack/k8s/build.sh (from empty Go caches: about 10 minutes on 2 cores)`);
  return buildBinaries();
}

export async function startTestControlPlane(opts: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const binDir = opts.binDir ?? defaultBinDir();
  const root = await mkdtemp(join(tmpdir(), 'imgroup-k8s-'));
  for (let attempt = 1; ; attempt++) {
    const [apiserver, etcd, etcdPeer] = (await getFreePorts(3)) as [number, number, number];
    const dir = join(root, `attempt-${attempt}`);
    let cp: StartedControlPlane;
    try {
      cp = await startControlPlane({
        dir,
        binDir,
        ports: { apiserver, etcd, etcdPeer },
        controllers: opts.controllers ?? DEFAULT_CONTROLLERS,
        timeoutMs: opts.timeoutMs ?? 120_000,
        audit: opts.audit ?? false,
        log: opts.log,
      });
    } catch (err) {
      if (attempt >= ATTEMPTS || !/address already in use/i.test(String((err as Error).message))) {
        await rm(root, { recursive: true, force: true });
        throw err;
      }
      continue;
    }
    return {
      kubeconfigPath: cp.kubeconfigPath,
      server: cp.server,
      caData: cp.caData,
      adminCredentials: cp.adminCredentials,
      auth: cp.auth,
      kubectl: join(binDir, 'kubectl'),
      dir,
      auditLogPath: cp.auditLogPath,
      request: (method, path, body, reqOpts) => cp.request(method, path, body, reqOpts),
      stopApiServer: () => cp.stopApiServer(),
      startApiServer: () => cp.startApiServer(),
      stop: async () => {
        await cp.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  }
}
