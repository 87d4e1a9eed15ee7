#!/usr/bin/env node
/**
 * `make cluster-up` / `make cluster-down` (through cluster-up.sh / cluster-down.sh): a control
 * plane (control-plane.mjs) whose processes outlive this command, on fixed loopback ports, its
 * state in one directory (default .cluster): state.json records the ports and pids.
 *
 *   node hack/k8s/cluster.mjs up [--dir=.cluster] [--bin-dir=DIR] [--apiserver-port=16443]
 *        [--etcd-port=12379] [--etcd-peer-port=12380] [--controllers=a,b,…]   (empty: none)
 *   node hack/k8s/cluster.mjs down [--dir=.cluster]
 *
 * `up` prints `export KUBECONFIG=…` on stdout (progress on stderr) and is a no-op while the
 * recorded processes run and /readyz is ok; otherwise it stops what is left and starts afresh.
 * `down` stops the recorded processes (SIGTERM, SIGKILL after 10 s) and removes the directory.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_CONTROLLERS, defaultBinDir, readyz, sleep, startControlPlane } from './control-plane.mjs';

/** Fixed ports, so that a kubeconfig stays valid across restarts; tests use free ports instead. */
const DEFAULT_PORTS = Object.freeze({ apiserver: 16443, etcd: 12379, etcdPeer: 12380 });
const STOP_GRACE_MS = 10_000;

/** Is `pid` alive and running `binary` (not a recycled pid)? */
function pidRuns(pid, binary) {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === binary;
  } catch {
    return false;
  }
}

async function stopPid(pid, binary, graceMs = STOP_GRACE_MS) {
  const signal = (sig) => {
    try {
      if (pidRuns(pid, binary)) process.kill(pid, sig);
    } catch {
      // exited in between
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidRuns(pid, binary) && Date.now() < deadline) await sleep(100);
  signal('SIGKILL');
  while (pidRuns(pid, binary)) await sleep(50);
}

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
  try {
    const pem = (file) => readFileSync(join(dir, 'pki', file), 'utf8');
    return await readyz({ server: state.server, caData: pem('ca.crt'), certPem: pem('admin.crt'), keyPem: pem('admin.key') });
  } catch {
    return false;
  }
}

/** rm -rf, but only of a directory this CLI made (or an empty one): --dir may be mistyped. */
function removeClusterDir(dir) {
  if (!existsSync(dir)) return;
  const ours = ['state.json', 'pki', 'etcd', 'logs', 'kubeconfig'].some((f) => existsSync(join(dir, f)));
  if (!ours && readdirSync(dir).length > 0) throw new Error(`${dir} does not look like a control plane directory; not removing it`);
  rmSync(dir, { recursive: true, force: true });
}

async function cliUp(dir, binDir, ports, controllers) {
  const state = readState(dir);
  if (await isRunning(dir, state)) {
    console.error(`[cluster] already running at ${state.server} (state in ${dir})`);
    return;
  }
  await stopFromState(dir, state);
  removeClusterDir(dir);
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
  removeClusterDir(dir);
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
    console.error('usage: cluster.mjs up [--dir=.cluster] [--bin-dir=DIR] [--apiserver-port=16443] [--etcd-port=12379]\n' +
      '                        [--etcd-peer-port=12380] [--controllers=namespace-controller,...]\n' +
      '       cluster.mjs down [--dir=.cluster]');
    process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`[cluster] ${err.message}`);
  process.exit(1);
});
