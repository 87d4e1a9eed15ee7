/**
 * A real `imgroup gate` process that reads its logic membership from a ConfigMap through the
 * Kubernetes API with a ServiceAccount token, as a gate pod of the operator does: the token is
 * minted with the TokenRequest API for the gate ServiceAccount and written into a kubeconfig of
 * its own (the CA from the admin kubeconfig). Joins a TestSystem, whose stop() stops it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImgroupProcess } from '../../runtime/dev/imgroup-process.js';
import { readKubeconfigAuth } from './control-plane.js';
import { getFreePorts } from './free-ports.js';
import type { KubeClients } from './operator-fixture.js';
import type { GateHandle, TestSystem } from './system.js';

/** A token of `serviceAccount` (TokenRequest, 1 h). */
export async function serviceAccountToken(k: KubeClients, namespace: string, serviceAccount: string): Promise<string> {
  const tr = await k.core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = tr.status?.token;
  if (!token) throw new Error(`no token for ServiceAccount ${namespace}/${serviceAccount}`);
  return token;
}

export function writeTokenKubeconfig(path: string, server: string, caPem: string, token: string): void {
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: gate',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: gate',
    '  context: {cluster: test, user: gate}',
    'current-context: gate',
    '',
  ].join('\n');
  writeFileSync(path, yaml, { mode: 0o600 });
}

export interface ConfigMapGateOptions {
  sys: TestSystem;
  k: KubeClients;
  redisSeeds: readonly string[];
  /** `<namespace>/<name>` of the membership ConfigMap. */
  configMap: string;
  token: string;
  /** API server URL the gate uses (default: the admin kubeconfig's; e.g. a proxy in front of it). */
  server?: string;
  name?: string;
  /** IMGROUP_MEMBERSHIP_WATCH_STALL_MS. */
  stallMs?: number;
}

export async function startConfigMapGate(o: ConfigMapGateOptions): Promise<GateHandle> {
  const name = o.name ?? 'gate-0';
  const admin = readKubeconfigAuth(o.k.kubeconfigPath);
  const kubeconfig = join(o.sys.dir, `${name}-kubeconfig`);
  writeTokenKubeconfig(kubeconfig, o.server ?? admin.server, admin.caData, o.token);
  const [port, opsPort] = (await getFreePorts(2)) as [number, number];
  const process = new ImgroupProcess({
    name,
    args: ['gate'],
    env: {
      PATH: globalThis.process.env.PATH,
      HOME: globalThis.process.env.HOME,
      IMGROUP_MODE: 'development',
      IMGROUP_LOG_LEVEL: 'info',
      IMGROUP_NODE_NAME: name,
      IMGROUP_REDIS_SEEDS: o.redisSeeds.join(','),
      IMGROUP_INTERNAL_TOKEN: o.sys.internalToken,
      IMGROUP_JWT_SECRET: o.sys.jwtSecret,
      IMGROUP_ADMIN_TOKEN: o.sys.adminToken,
      IMGROUP_HEARTBEAT_MS: '1000',
      IMGROUP_OPS_HOST: '127.0.0.1',
      IMGROUP_GATE_HOST: '127.0.0.1',
      IMGROUP_GATE_PORT: String(port),
      IMGROUP_OPS_PORT: String(opsPort),
      IMGROUP_MEMBERSHIP_CONFIGMAP: o.configMap,
      IMGROUP_KUBECONFIG: kubeconfig,
      ...(o.stallMs !== undefined ? { IMGROUP_MEMBERSHIP_WATCH_STALL_MS: String(o.stallMs) } : {}),
    },
    logFile: join(o.sys.dir, `${name}.log`),
    opsUrl: `http://127.0.0.1:${opsPort}`,
  });
  const gate: GateHandle = { name, process, port, opsPort, opsUrl: process.opts.opsUrl, httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/ws` };
  o.sys.gates.push(gate); // sys.stop() stops it; sys.admin() talks to it
  await process.waitReady();
  return gate;
}
