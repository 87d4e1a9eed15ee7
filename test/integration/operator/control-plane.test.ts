/**
 * The local control plane the operator is tested on is a real one: the pinned kube-apiserver
 * answers, authentication and RBAC are enforced, ServiceAccount tokens come from the TokenRequest
 * API, and the controller manager's namespace, garbage-collector and serviceaccount controllers
 * run. Also: an API server restart keeps the data, and `cluster-up`'s CLI is idempotent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readVersions, SERVICE_ACCOUNT_ISSUER } from '../../../hack/k8s/control-plane.mjs';
import {
  type ApiAuth,
  type ApiResponse,
  apiRequest,
  kubectlPath,
  readKubeconfigAuth,
  startTestControlPlane,
} from '../../support/control-plane.js';
import { eventually } from '../../support/eventually.js';
import { getFreePorts } from '../../support/free-ports.js';
import { uniqueName } from '../../support/operator-fixture.js';

const execFileAsync = promisify(execFile);
const K8S_VERSION = readVersions().K8S_VERSION;

function expectStatus(res: ApiResponse, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the shared control plane', () => {
  let admin: ApiAuth;
  let kubeconfig: string;
  let ns: string;
  const req = (method: string, path: string, body?: unknown) => apiRequest(admin, method, path, body);
  const kubectl = (...args: string[]) => execFileAsync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args]);

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    admin = readKubeconfigAuth(kubeconfig);
    ns = uniqueName('cp-smoke');
    expectStatus(await req('POST', '/api/v1/namespaces', { metadata: { name: ns } }), 201);
  });

  afterAll(async () => {
    if (admin) await req('DELETE', `/api/v1/namespaces/${ns}`);
  });

  it('serves the pinned Kubernetes version to the admin, and kubectl is of the same build', async () => {
    expect(admin.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await req('GET', '/version');
    expectStatus(version, 200);
    expect(version.body.gitVersion).toBe(K8S_VERSION);

    const client = JSON.parse((await kubectl('version', '--client', '-o', 'json')).stdout);
    expect(client.clientVersion.gitVersion).toBe(K8S_VERSION);
    const { stdout } = await kubectl('get', 'namespace', ns, '-o', 'jsonpath={.status.phase}');
    expect(stdout).toBe('Active');
  });

  it.each([
    { name: 'no credentials', auth: {}, status: 403 },
    { name: 'a made-up token', auth: { token: 'not-a-real-token' }, status: 401 },
  ])('rejects a request with $name', async ({ auth, status }) => {
    const res = await apiRequest({ server: admin.server, caData: admin.caData, ...auth }, 'GET', '/api/v1/namespaces');
    expectStatus(res, status);
  });

  it('issues ServiceAccount tokens through the TokenRequest API and `kubectl create token`', async () => {
    const sa = uniqueName('issued');
    expectStatus(await req('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } }), 201);
    const issued = await req('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    });
    expectStatus(issued, 201);
    const token: string = issued.body.status.token;
    expect(jwtPayload(token)).toMatchObject({ iss: SERVICE_ACCOUNT_ISSUER, sub: `system:serviceaccount:${ns}:${sa}` });

    const review = await req('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    expectStatus(review, 201);
    expect(review.body.status.authenticated).toBe(true);
    expect(review.body.status.user.username).toBe(`system:serviceaccount:${ns}:${sa}`);

    const fromKubectl = (await kubectl('create', 'token', sa, '-n', ns, '--duration=10m')).stdout.trim();
    expect(jwtPayload(fromKubectl).sub).toBe(`system:serviceaccount:${ns}:${sa}`);
  });

  it('enforces RBAC: a ServiceAccount may do exactly what its RoleBinding grants', async () => {
    const sa = uniqueName('reader');
    expectStatus(await req('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } }), 201);
    for (const name of ['granted', 'other']) {
      const cm = { metadata: { name }, data: { k: name } };
      expectStatus(await req('POST', `/api/v1/namespaces/${ns}/configmaps`, cm), 201);
    }
    const issued = await req('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { spec: {} });
    expectStatus(issued, 201);
    const asSa = (method: string, path: string) =>
      apiRequest({ server: admin.server, caData: admin.caData, token: issued.body.status.token }, method, path);

    const whoami = await apiRequest({ server: admin.server, caData: admin.caData, token: issued.body.status.token }, 'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expectStatus(whoami, 201);
    expect(whoami.body.status.userInfo.username).toBe(`system:serviceaccount:${ns}:${sa}`);

    expectStatus(await asSa('GET', `/api/v1/namespaces/${ns}/pods`), 403);
    expectStatus(await asSa('GET', `/api/v1/namespaces/${ns}/configmaps/granted`), 403);

    const role = { metadata: { name: sa }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['granted'], verbs: ['get'] }] };
    expectStatus(await req('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, role), 201);
    const binding = {
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    };
    expectStatus(await req('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, binding), 201);

    // The authorizer reads Roles from an informer: the grant takes effect shortly after the write.
    await eventually('the RoleBinding grants get on configmaps/granted', async () =>
      (await asSa('GET', `/api/v1/namespaces/${ns}/configmaps/granted`)).status === 200);
    const granted = await asSa('GET', `/api/v1/namespaces/${ns}/configmaps/granted`);
    expect(granted.body.data).toEqual({ k: 'granted' });

    expectStatus(await asSa('GET', `/api/v1/namespaces/${ns}/configmaps/other`), 403);
    expectStatus(await asSa('GET', `/api/v1/namespaces/${ns}/configmaps`), 403);
    expectStatus(await asSa('GET', `/api/v1/namespaces/${ns}/pods`), 403);
    expectStatus(await asSa('DELETE', `/api/v1/namespaces/${ns}/configmaps/granted`), 403);
  });

  it('creates and deletes namespaces; the controller manager gives each a default ServiceAccount and empties deleted ones', async () => {
    const other = uniqueName('cp-ns');
    expectStatus(await req('POST', '/api/v1/namespaces', { metadata: { name: other } }), 201);
    await eventually('the default ServiceAccount exists', async () =>
      (await req('GET', `/api/v1/namespaces/${other}/serviceaccounts/default`)).status === 200);
    expectStatus(await req('POST', `/api/v1/namespaces/${other}/configmaps`, { metadata: { name: 'inside' } }), 201);

    expectStatus(await req('DELETE', `/api/v1/namespaces/${other}`), 200);
    await eventually('the namespace is gone', async () => (await req('GET', `/api/v1/namespaces/${other}`)).status === 404);
    const names = (await req('GET', '/api/v1/namespaces')).body.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    expect(names).toContain(ns);
    expect(names).not.toContain(other);
  });

  it('collects garbage: an object whose owner is deleted goes too', async () => {
    const owner = await req('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: uniqueName('owner') } });
    expectStatus(owner, 201);
    const childName = uniqueName('child');
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.body.metadata.name, uid: owner.body.metadata.uid }];
    expectStatus(await req('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: childName, ownerReferences } }), 201);

    expectStatus(await req('DELETE', `/api/v1/namespaces/${ns}/configmaps/${owner.body.metadata.name}`), 200);
    await eventually('the owned ConfigMap is deleted', async () =>
      (await req('GET', `/api/v1/namespaces/${ns}/configmaps/${childName}`)).status === 404);
  });
});

describe('a control plane of its own', () => {
  it('keeps its data across an API server restart, and stop() removes everything', async () => {
    const cp = await startTestControlPlane({ controllers: [] });
    try {
      const name = uniqueName('survivor');
      expectStatus(await cp.request('POST', '/api/v1/namespaces', { metadata: { name } }), 201);
      await cp.stopApiServer();
      await expect(cp.request('GET', '/readyz')).rejects.toThrow(/ECONNREFUSED/);
      await cp.startApiServer();
      expectStatus(await cp.request('GET', `/api/v1/namespaces/${name}`), 200);
      // No controller manager: nothing creates default ServiceAccounts.
      expectStatus(await cp.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`), 404);
    } finally {
      await cp.stop();
    }
    expect(existsSync(cp.dir)).toBe(false);
    await expect(cp.request('GET', '/readyz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('`cluster.mjs up` starts one, is a no-op while it runs, and `down` stops it and removes its state', async () => {
    const script = fileURLToPath(new URL('../../../hack/k8s/cluster.mjs', import.meta.url));
    const dir = join(mkdtempSync(join(tmpdir(), 'imgroup-cluster-cli-')), 'cluster');
    const [apiserver, etcd, etcdPeer] = await getFreePorts(3);
    const up = () =>
      execFileAsync('node', [script, 'up', `--dir=${dir}`, `--apiserver-port=${apiserver}`, `--etcd-port=${etcd}`,
        `--etcd-peer-port=${etcdPeer}`, '--controllers=']);
    try {
      const first = await up();
      expect(first.stdout).toBe(`export KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
      const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
      const auth = readKubeconfigAuth(join(dir, 'kubeconfig'));
      expect(auth.server).toBe(`https://127.0.0.1:${apiserver}`);
      expectStatus(await apiRequest(auth, 'GET', '/readyz'), 200);

      const second = await up();
      expect(second.stdout).toBe(first.stdout);
      expect(second.stderr).toMatch(/already running/);
      expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).pids).toEqual(state.pids);
    } finally {
      await execFileAsync('node', [script, 'down', `--dir=${dir}`]);
      expect(existsSync(dir)).toBe(false);
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
    const gone = { server: `https://127.0.0.1:${apiserver}`, caData: '' };
    await expect(apiRequest(gone, 'GET', '/readyz')).rejects.toThrow(/ECONNREFUSED/);
  });
});
