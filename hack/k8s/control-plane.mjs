/**
 * A local Kubernetes control plane on loopback: etcd, kube-apiserver and (optionally) a
 * kube-controller-manager running only the controllers that need no kubelet. The one
 * implementation behind `make cluster-up` / `make cluster-down` (cluster.mjs) and the tests'
 * test/support/control-plane.ts. Plain JavaScript so that node runs it as it is; its types are
 * in control-plane.d.mts.
 *
 * Everything lives in one directory:
 *   pki/        generated CA, API server serving cert, admin client cert (O=system:masters),
 *               ServiceAccount signing key pair (ES256) — see pki.mjs
 *   etcd/       etcd's data (fsync off: the data is throwaway)
 *   logs/       one log file per component
 *   kubeconfig  admin kubeconfig with embedded credentials
 *   state.json  ports, server URL and pids (cluster.mjs only)
 *
 * Binaries come from hack/k8s/build.sh (versions pinned in hack/k8s/versions.env).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePki, kubeconfigYaml } from './pki.mjs';

export { generatePki, kubeconfigYaml };

const HERE = dirname(fileURLToPath(import.meta.url));

/** Controllers of kube-controller-manager that work without kubelet, scheduler or workload controllers. */
export const DEFAULT_CONTROLLERS = Object.freeze(['namespace-controller', 'garbage-collector-controller', 'serviceaccount-controller']);
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const STOP_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Versions and binaries

/** The pinned versions from versions.env (KEY=value lines). */
export function readVersions(file = join(HERE, 'versions.env')) {
  const versions = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
    if (m) versions[m[1]] = m[2];
  }
  if (!versions.K8S_VERSION || !versions.ETCD_VERSION) throw new Error(`${file} must set K8S_VERSION and ETCD_VERSION`);
  return versions;
}

/** Where build.sh puts (or has put) the binaries: ${IMGROUP_CACHE_DIR:-~/.cache/imgroup}/k8s-<version>/bin. */
export function defaultBinDir() {
  return execFileSync(join(HERE, 'build.sh'), ['--print-bin-dir'], { encoding: 'utf8' }).trim();
}

const REQUIRED_BINARIES = ['etcd', 'kube-apiserver', 'kubectl', 'kube-controller-manager'];

/** True when build.sh finished a build into binDir (it writes VERSIONS last). */
export function binariesPresent(binDir) {
  return existsSync(join(binDir, 'VERSIONS')) && REQUIRED_BINARIES.every((b) => existsSync(join(binDir, b)));
}

/** Run build.sh (a no-op when the binaries are there), its progress on our stderr; resolves to the bin dir. */
export function buildBinaries({ nice = 0 } = {}) {
  const script = join(HERE, 'build.sh');
  const [cmd, args] = nice > 0 ? ['nice', ['-n', String(nice), script]] : [script, []];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(out.trim().split('\n').pop()) : reject(new Error(`${script} failed with exit code ${code}`)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Component command lines

export function etcdArgs({ dir, ports }) {
  const client = `http://127.0.0.1:${ports.etcd}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=imgroup-local', `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=imgroup-local=${peer}`,
    '--unsafe-no-fsync', '--log-level=warn',
  ];
}

/**
 * The audit policy of `audit: true`: who wrote what (level Metadata: user, verb, object, status;
 * no bodies) for every write; reads are not recorded. Written to <dir>/audit-policy.yaml.
 */
export const AUDIT_POLICY_YAML = [
  'apiVersion: audit.k8s.io/v1',
  'kind: Policy',
  'omitStages: [RequestReceived]',
  'rules:',
  '- level: Metadata',
  '  verbs: [create, update, patch, delete, deletecollection]',
  '- level: None',
  '',
].join('\n');

export function apiServerArgs({ dir, ports, pki, audit = false }) {
  const auditArgs = audit
    ? [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${join(dir, 'logs', 'audit.log')}`, '--audit-log-format=json', '--audit-log-maxbackup=1']
    : [];
  return [
    ...auditArgs,
    `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(dir, 'apiserver')}`,
    `--tls-cert-file=${pki.servingCert}`, `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.saPub}`, `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // The `kubernetes` Endpoints may not point at loopback; nothing in-cluster needs them here.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true', '--profiling=false',
  ];
}

export function controllerManagerArgs({ dir, pki, controllers }) {
  return [
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
    `--controllers=${controllers.join(',')}`,
    '--bind-address=127.0.0.1', '--secure-port=0',
    '--leader-elect=false', '--use-service-account-credentials=false',
    `--service-account-private-key-file=${pki.saKey}`, `--root-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
  ];
}

export function schedulerArgs({ dir }) {
  return [`--kubeconfig=${join(dir, 'kubeconfig')}`, '--bind-address=127.0.0.1', '--secure-port=0', '--leader-elect=false'];
}

// ---------------------------------------------------------------------------------------------
// Talking to the API server (no client library needed)

/**
 * One HTTPS request to the API server. `auth` is {server, caData} plus either {certPem, keyPem}
 * or {token}. `body` objects are sent as JSON (merge patches: pass contentType). Resolves to
 * {status, body} with body parsed as JSON when it is JSON; never rejects on HTTP errors.
 */
export function apiRequest(auth, method, path, body, { contentType = 'application/json', timeoutMs = 10_000 } = {}) {
  const url = new URL(path, auth.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(url, {
      method, ca: auth.caData, cert: auth.certPem, key: auth.keyPem, timeout: timeoutMs,
      headers: {
        accept: 'application/json',
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
        ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* plain text (e.g. /readyz) */ }
        resolvePromise({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll until `probe()` resolves true. A component that exits will never become ready: `procs`
 * (name → process) are watched during each probe too, and `deadReason()` names the one that died.
 */
async function waitFor(what, probe, { timeoutMs, procs, deadReason }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const anyExit = Promise.race(Object.values(procs).map((p) => p.exited.then(() => false)));
    const dead = deadReason();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await Promise.race([probe(), anyExit])) return;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms (${last})`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/**
 * Spawn one component with its output appended to logs/<name>.log. `detached` (CLI mode): a new
 * session that outlives us. Otherwise (tests) it gets SIGKILL when we die, however we die
 * (setpriv's parent-death signal), so a crashed test run leaves no apiserver behind.
 */
function spawnComponent(name, binary, args, { dir, detached }) {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const logFile = join(dir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  const [cmd, argv] = detached ? [binary, args] : ['setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]];
  let child;
  try {
    child = spawn(cmd, argv, { cwd: dir, detached, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const proc = { name, binary, args, logFile, child, pid: child.pid, exit: null };
  proc.exited = new Promise((r) => {
    child.once('error', (err) => { proc.exit = `could not start ${binary}: ${err.message}`; r(); });
    child.once('exit', (code, signal) => { proc.exit = `exited with ${signal ?? `code ${code}`}`; r(); });
  });
  if (detached) child.unref();
  return proc;
}

function logTail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after the grace period; resolves when the process has exited. */
async function stopComponent(proc, graceMs = STOP_GRACE_MS) {
  if (!proc || proc.exit) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// The control plane

/**
 * Start etcd, kube-apiserver and (unless `controllers` is empty) kube-controller-manager in
 * `dir` (created; should be empty) on the given loopback ports, and wait until /readyz is ok
 * (and, with the serviceaccount controller, until default/default exists).
 *
 * Options: dir, binDir, ports {apiserver, etcd, etcdPeer}, controllers (default
 * DEFAULT_CONTROLLERS), detached (default false), timeoutMs (default 120000), log (a function
 * for progress lines; default silent), onSpawned (called with the processes after each spawn,
 * so that a caller can record pids before readiness), audit (default false: record every write
 * in logs/audit.log, one JSON event a line — AUDIT_POLICY_YAML).
 */
export async function startControlPlane(opts) {
  const { dir, binDir, ports, detached = false, timeoutMs = 120_000, log = () => {}, onSpawned = () => {}, audit = false } = opts;
  const controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
  if (!binariesPresent(binDir)) throw new Error(`no control plane binaries in ${binDir}: run hack/k8s/build.sh`);
  const bin = (name) => join(binDir, name);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const pki = await generatePki(dir);
  if (audit) writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY_YAML);
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const caData = readFileSync(pki.caCert, 'utf8');
  const admin = { certPem: readFileSync(pki.adminCert, 'utf8'), keyPem: readFileSync(pki.adminKey, 'utf8') };
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml({ server, caPem: caData, ...admin }), { mode: 0o600 });
  const auth = { server, caData, ...admin };
  const procs = {};
  const deadReason = () => {
    for (const p of Object.values(procs)) {
      if (p.exit) return `${p.name} ${p.exit}; last lines of ${p.logFile}:\n${logTail(p.logFile)}`;
    }
    return null;
  };
  const handle = {
    dir, binDir, server, caData, kubeconfigPath, ports: { ...ports }, pki, controllers: [...controllers],
    auditLogPath: audit ? join(dir, 'logs', 'audit.log') : null,
    adminCredentials: { clientCertificate: admin.certPem, clientKey: admin.keyPem },
    auth, procs,
    request: (method, path, body, reqOpts) => apiRequest(auth, method, path, body, reqOpts),
    async stop() {
      for (const name of ['controllerManager', 'apiserver', 'etcd']) await stopComponent(procs[name]);
    },
    async stopApiServer() {
      await stopComponent(procs.apiserver);
    },
    async startApiServer() {
      if (procs.apiserver && !procs.apiserver.exit) return;
      procs.apiserver = spawnComponent('kube-apiserver', bin('kube-apiserver'), apiServerArgs({ dir, ports, pki, audit }), { dir, detached });
      onSpawned(procs);
      await waitFor('kube-apiserver', () => readyz(auth), { timeoutMs, procs, deadReason });
    },
  };
  try {
    log(`etcd on 127.0.0.1:${ports.etcd}`);
    procs.etcd = spawnComponent('etcd', bin('etcd'), etcdArgs({ dir, ports }), { dir, detached });
    onSpawned(procs);
    await waitFor('etcd', () => etcdHealthy(ports.etcd), { timeoutMs, procs, deadReason });
    log(`kube-apiserver on ${server}`);
    await handle.startApiServer();
    log(`kube-apiserver ready after ${Date.now() - started} ms`);
    if (controllers.length > 0) {
      log(`kube-controller-manager (${controllers.join(',')})`);
      procs.controllerManager = spawnComponent('kube-controller-manager', bin('kube-controller-manager'),
        controllerManagerArgs({ dir, pki, controllers }), { dir, detached });
      onSpawned(procs);
      if (controllers.includes('serviceaccount-controller')) {
        await waitFor('kube-controller-manager (default ServiceAccount)', async () =>
          (await apiRequest(auth, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
        { timeoutMs, procs, deadReason });
      }
    }
    log(`control plane ready after ${Date.now() - started} ms`);
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

function etcdHealthy(port) {
  return new Promise((resolvePromise, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/health', timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolvePromise(res.statusCode === 200 && /"health":\s*"true"/.test(text)));
    });
    req.on('timeout', () => req.destroy(new Error('etcd /health timed out')));
    req.on('error', reject);
  });
}

/** Does the API server answer /readyz with 200? (Rejects when it does not answer at all.) */
export async function readyz(auth) {
  const res = await apiRequest(auth, 'GET', '/readyz', undefined, { timeoutMs: 5000 });
  return res.status === 200;
}

/**
 * Start kube-scheduler against a control plane already running in `dir` (its admin kubeconfig),
 * for tests that want pods placed by the real scheduler (onto Nodes a test node agent registers).
 * Not started by startControlPlane: the operator tests rely on pods staying unscheduled. No
 * serving port (secure-port 0), so there is no readiness to wait for: this resolves once the
 * process has lived `settleMs` (default 500) without exiting. Returns the process and stop().
 */
export async function startScheduler({ dir, binDir, detached = false, settleMs = 500 }) {
  const binary = join(binDir, 'kube-scheduler');
  if (!existsSync(binary)) throw new Error(`no kube-scheduler in ${binDir}: run hack/k8s/build.sh`);
  const proc = spawnComponent('kube-scheduler', binary, schedulerArgs({ dir }), { dir, detached });
  await Promise.race([proc.exited, sleep(settleMs)]);
  if (proc.exit) throw new Error(`kube-scheduler ${proc.exit}; last lines of ${proc.logFile}:\n${logTail(proc.logFile)}`);
  return { proc, stop: () => stopComponent(proc) };
}
