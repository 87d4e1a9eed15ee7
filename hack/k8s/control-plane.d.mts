/** Types of control-plane.mjs (plain JavaScript so that `make cluster-up` runs it with node alone). */
import type { ChildProcess } from 'node:child_process';

export interface Versions {
  K8S_VERSION: string;
  ETCD_VERSION: string;
  [key: string]: string;
}

export interface ControlPlanePorts {
  apiserver: number;
  etcd: number;
  etcdPeer: number;
}

export interface PkiPaths {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** ServiceAccount token signing key (EC P-256, PEM) and its public key. */
  saKey: string;
  saPub: string;
}

/** Credentials for apiRequest: the CA plus a client certificate or a bearer token. */
export interface ApiAuth {
  server: string;
  caData: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

export interface ApiResponse {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
}

export interface ApiRequestOptions {
  /** Default application/json; e.g. application/merge-patch+json for PATCH. */
  contentType?: string;
  /** Default 10000. */
  timeoutMs?: number;
}

export interface ComponentProcess {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  child: ChildProcess;
  pid: number | undefined;
  /** Why it exited (null while running). */
  exit: string | null;
  exited: Promise<void>;
}

export interface StartControlPlaneOptions {
  /** Directory for pki/, etcd/, logs/ and kubeconfig; created if missing. */
  dir: string;
  /** Where build.sh put the binaries (defaultBinDir()). */
  binDir: string;
  ports: ControlPlanePorts;
  /** kube-controller-manager controllers; [] runs no controller manager. Default DEFAULT_CONTROLLERS. */
  controllers?: readonly string[];
  /** Processes outlive this one (CLI). Default false: they are SIGKILLed when this process dies. */
  detached?: boolean;
  /** Bound on each readiness wait. Default 120000. */
  timeoutMs?: number;
  log?: (line: string) => void;
  onSpawned?: (procs: Record<string, ComponentProcess>) => void;
  /** Record every write (who, verb, object, status) in logs/audit.log, JSON lines. Default false. */
  audit?: boolean;
}

export interface StartedControlPlane {
  dir: string;
  binDir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the CA that signed the serving cert (and the client certs the API server accepts). */
  caData: string;
  kubeconfigPath: string;
  ports: ControlPlanePorts;
  pki: PkiPaths;
  controllers: string[];
  /** logs/audit.log with `audit`, else null. */
  auditLogPath: string | null;
  /** PEM client certificate and key of a member of system:masters. */
  adminCredentials: { clientCertificate: string; clientKey: string };
  /** Admin credentials in apiRequest's form. */
  auth: ApiAuth;
  procs: Record<string, ComponentProcess>;
  /** apiRequest with the admin credentials. */
  request(method: string, path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse>;
  /** Stop every component (SIGTERM, then SIGKILL after 10 s). Leaves the directory. */
  stop(): Promise<void>;
  /** Stop only kube-apiserver (etcd keeps the data): for API-server-restart tests. */
  stopApiServer(): Promise<void>;
  /** Start kube-apiserver again (no-op while it runs) and wait for /readyz. */
  startApiServer(): Promise<void>;
}

export const DEFAULT_CONTROLLERS: readonly string[];
export const SERVICE_ACCOUNT_ISSUER: string;
export function readVersions(file?: string): Versions;
/** build.sh --print-bin-dir: the binaries' directory, whether built or not. */
export function defaultBinDir(): string;
export function binariesPresent(binDir: string): boolean;
/** Run build.sh (a no-op when built); resolves to the bin dir. */
export function buildBinaries(opts?: { nice?: number }): Promise<string>;
export function generatePki(dir: string): Promise<PkiPaths>;
export function etcdArgs(opts: { dir: string; ports: ControlPlanePorts }): string[];
export const AUDIT_POLICY_YAML: string;
export function apiServerArgs(opts: { dir: string; ports: ControlPlanePorts; pki: PkiPaths; audit?: boolean }): string[];
export function schedulerArgs(opts: { dir: string }): string[];
/**
 * Start kube-scheduler against the control plane running in `dir` (not part of startControlPlane).
 * Resolves once it has lived `settleMs` (default 500) without exiting.
 */
export function startScheduler(opts: { dir: string; binDir: string; detached?: boolean; settleMs?: number }): Promise<{ proc: ComponentProcess; stop(): Promise<void> }>;
export function controllerManagerArgs(opts: { dir: string; pki: PkiPaths; controllers: readonly string[] }): string[];
export function kubeconfigYaml(opts: { server: string; caPem: string; certPem: string; keyPem: string }): string;
export function apiRequest(auth: ApiAuth, method: string, path: string, body?: unknown, opts?: ApiRequestOptions): Promise<ApiResponse>;
export function startControlPlane(opts: StartControlPlaneOptions): Promise<StartedControlPlane>;
/** Does the API server answer /readyz with 200? Rejects when it does not answer at all. */
export function readyz(auth: ApiAuth): Promise<boolean>;
export function sleep(ms: number): Promise<void>;
