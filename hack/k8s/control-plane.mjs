#!/usr/bin/env node
/**
 * A local Kubernetes control plane on loopback: etcd, kube-apiserver and (optionally) a
 * kube-controller-manager running only the controllers that need no kubelet. The one
 * implementation behind `make cluster-up` / `make cluster-down` (the CLI at the bottom) and the
 * tests' test/support/control-plane.ts (the exported functions; types in control-plane.d.mts).
 *
 * Everything lives in one directory:
 *   pki/        generated CA, API server serving cert, admin client cert (O=system:masters),
 *               ServiceAccount signing key pair (ES256) — made with the openssl CLI
 *   etcd/       etcd's data (fsync off: the data is throwaway)
 *   logs/       one log file per component
 *   kubeconfig  admin kubeconfig with embedded credentials
 *   state.json  ports, server URL and pids (CLI mode only)
 *
 * Binaries come from hack/k8s/build.sh (versions pinned in hack/k8s/versions.env).
 */
import { spawn, execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);

/** Controllers of kube-controller-manager that work without kubelet, scheduler or workload controllers. */
export const DEFAULT_CONTROLLERS = Object.freeze(['namespace-controller', 'garbage-collector-controller', 'serviceaccount-controller']);
/** Fixed ports of the CLI's control plane (`make cluster-up`); tests use free ports instead. */
export const DEFAULT_PORTS = Object.freeze({ apiserver: 16443, etcd: 12379, etcdPeer: 12380 });
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
// PKI: a CA, the API server's serving cert, the admin client cert, the ServiceAccount key pair

async function openssl(args, cwd) {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** Generate every key and certificate into `${dir}/pki` (EC P-256, valid 10 years); returns their paths. */
export async function generatePki(dir) {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const days = ['-days', '3650'];
  await openssl(['req', '-x509', ...ec, ...days, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=imgroup-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], pki);
  const sans = ['IP:127.0.0.1', 'IP:10.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local'];
  const leaf = (name, subj, exts) =>
    openssl(['req', '-x509', ...ec, ...days, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-subj', subj, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      ...exts.flatMap((e) => ['-addext', e])], pki);
  await leaf('apiserver', '/CN=kube-apiserver', ['extendedKeyUsage=serverAuth', `subjectAltName=${sans.join(',')}`]);
  await leaf('admin', '/O=system:masters/CN=imgroup-admin', ['extendedKeyUsage=clientAuth']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'sa.key'], pki);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pki);
  const path = (f) => join(pki, f);
  return {
    caCert: path('ca.crt'), caKey: path('ca.key'),
    servingCert: path('apiserver.crt'), servingKey: path('apiserver.key'),
    adminCert: path('admin.crt'), adminKey: path('admin.key'),
    saKey: path('sa.key'), saPub: path('sa.pub'),
  };
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

export function apiServerArgs({ dir, ports, pki }) {
  return [
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

/** An admin kubeconfig with every credential embedded (context and cluster named `imgroup-local`). */
export function kubeconfigYaml({ server, caPem, certPem, keyPem }) {
  const b64 = (s) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: imgroup-local',
    'clusters:', '- name: imgroup-local', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${b64(caPem)}`,
    'users:', '- name: imgroup-admin', '  user:', `    client-certificate-data: ${b64(certPem)}`, `    client-key-data: ${b64(keyPem)}`,
    'contexts:', '- name: imgroup-local', '  context:', '    cluster: imgroup-local', '    user: imgroup-admin', '',
  ].join('\n');
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll until `probe()` resolves true. `alive()` returning a string (a reason) aborts at once:
 * a component that exited will never become ready.
 */
async function waitFor(what, probe, { timeoutMs, alive }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      if (await probe()) return;
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

/** Is `pid` alive and running `binary` (not a recycled pid)? */
function pidRuns(pid, binary) {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === binary;
  } catch {
    return false;
  }
}

async function stopPid(pid, binary, graceMs = STOP_GRACE_MS) {
  if (!pidRuns(pid, binary)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidRuns(pid, binary) && Date.now() < deadline) await sleep(100);
  if (pidRuns(pid, binary)) process.kill(pid, 'SIGKILL');
  while (pidRuns(pid, binary)) await sleep(50);
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
 * so that a caller can record pids before readiness).
 */
export async function startControlPlane(opts) {
  const { dir, binDir, ports, detached = false, timeoutMs = 120_000, log = () => {}, onSpawned = () => {} } = opts;
  const controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
  if (!binariesPresent(binDir)) throw new Error(`no control plane binaries in ${binDir}: run hack/k8s/build.sh`);
  const bin = (name) => join(binDir, name);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const pki = await generatePki(dir);
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
      procs.apiserver = spawnComponent('kube-apiserver', bin('kube-apiserver'), apiServerArgs({ dir, ports, pki }), { dir, detached });
      onSpawned(procs);
      await waitFor('kube-apiserver', () => readyz(auth), { timeoutMs, alive: deadReason });
    },
  };
  try {
    log(`etcd on 127.0.0.1:${ports.etcd}`);
    procs.etcd = spawnComponent('etcd', bin('etcd'), etcdArgs({ dir, ports }), { dir, detached });
    onSpawned(procs);
    await waitFor('etcd', () => etcdHealthy(ports.etcd), { timeoutMs, alive: deadReason });
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
        { timeoutMs, alive: deadReason });
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

async function readyz(auth) {
  const res = await apiRequest(auth, 'GET', '/readyz', undefined, { timeoutMs: 5000 });
  return res.status === 200;
}

// ---------------------------------------------------------------------------------------------
// CLI: make cluster-up / make cluster-down

function readState(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch {
    return null;
  }
}

async function stopFromState(dir, state) {
  for (const name of ['controllerManager', 'apiserver', 'etcd']) {
    const p = state?.pids?.[name];
    if (p) await stopPid(p.pid, p.binary);
  }
}

async function isRunning(dir, state) {
  if (!state) return false;
  const alive = Object.values(state.pids).every((p) => pidRuns(p.pid, p.binary));
  if (!alive) return false;
  const caData = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
  const auth = { server: state.server, caData, certPem: readFileSync(join(dir, 'pki', 'admin.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'pki', 'admin.key'), 'utf8') };
  try {
    return await readyz(auth);
  } catch {
    return false;
  }
}

async function cliUp(dir, binDir, ports, controllers) {
  const state = readState(dir);
  if (await isRunning(dir, state)) {
    console.error(`[cluster] already running at ${state.server} (state in ${dir})`);
    return;
  }
  if (state || existsSync(dir)) {
    await stopFromState(dir, state);
    rmSync(dir, { recursive: true, force: true });
  }
  const server = `https://127.0.0.1:${ports.apiserver}`;
  // Recorded at every spawn, so that cluster-down finds processes of an interrupted cluster-up.
  const record = (procs) => {
    const pids = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, { pid: p.pid, binary: p.binary }]));
    writeFileSync(join(dir, 'state.json'), `${JSON.stringify({ server, ports, controllers, binDir, pids }, null, 2)}\n`);
  };
  await startControlPlane({
    dir, binDir, ports, controllers, detached: true, onSpawned: record, log: (line) => console.error(`[cluster] ${line}`),
  });
  console.error(`[cluster] logs in ${join(dir, 'logs')}; kubectl is ${join(binDir, 'kubectl')}`);
}

async function cliDown(dir) {
  const state = readState(dir);
  await stopFromState(dir, state);
  rmSync(dir, { recursive: true, force: true });
  console.error(state ? `[cluster] stopped; removed ${dir}` : `[cluster] nothing was running; removed ${dir}`);
}

function parseFlags(argv) {
  const flags = {};
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${arg} (flags are --name=value)`);
    flags[m[1]] = m[2];
  }
  return flags;
}

function port(value, fallback, name) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${name} must be a port 1..65535, got ${value}`);
  return n;
}

async function main(argv) {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest);
  const dir = resolve(flags.dir ?? '.cluster');
  if (command === 'up') {
    const binDir = resolve(flags['bin-dir'] ?? defaultBinDir());
    const ports = {
      apiserver: port(flags['apiserver-port'], DEFAULT_PORTS.apiserver, 'apiserver-port'),
      etcd: port(flags['etcd-port'], DEFAULT_PORTS.etcd, 'etcd-port'),
      etcdPeer: port(flags['etcd-peer-port'], DEFAULT_PORTS.etcdPeer, 'etcd-peer-port'),
    };
    const controllers = flags.controllers === undefined ? DEFAULT_CONTROLLERS : flags.controllers.split(',').filter(Boolean);
    await cliUp(dir, binDir, ports, controllers);
    console.log(`export KUBECONFIG=${join(dir, 'kubeconfig')}`);
  } else if (command === 'down') {
    await cliDown(dir);
  } else {
    console.error('usage: control-plane.mjs up [--dir=.cluster] [--bin-dir=DIR] [--apiserver-port=16443] [--etcd-port=12379]\n' +
      '                        [--etcd-peer-port=12380] [--controllers=namespace-controller,...]\n' +
      '       control-plane.mjs down [--dir=.cluster]');
    process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`[cluster] ${err.message}`);
    process.exit(1);
  });
}
