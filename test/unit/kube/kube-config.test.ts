import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, RequestContext } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../runtime/config/options.js';
import { DEFAULT_SERVICE_ACCOUNT_DIR, loadKubeConfig, serviceAccountNamespace } from '../../../runtime/kube/kube-config.js';

function kubeconfigFile(server: string, o: { skipTlsVerify?: boolean } = {}): string {
  const path = join(mkdtempSync(join(tmpdir(), 'imgroup-kc-')), 'kubeconfig');
  writeFileSync(path, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', ...(o.skipTlsVerify ? ['    insecure-skip-tls-verify: true'] : []), `    server: ${server}`, 'users:', '- name: u', '  user: {token: t}', 'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', ''].join('\n'));
  return path;
}

describe('loadKubeConfig', () => {
  it('names the setting when the kubeconfig file cannot be loaded', () => {
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig', requestTimeoutMs: 1000 })).toThrow(ConfigError);
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig', requestTimeoutMs: 1000 })).toThrow(/IMGROUP_KUBECONFIG.*\/nonexistent\/kubeconfig/);
  });

  it.skipIf(process.env.KUBERNETES_SERVICE_HOST !== undefined)('refuses the in-cluster default outside a pod, with the caller\'s hint', () => {
    expect(() => loadKubeConfig({ requestTimeoutMs: 1000, outsidePodHint: 'do X' })).toThrow(/not in a pod.*do X/);
    expect(() => loadKubeConfig({ requestTimeoutMs: 1000 })).toThrow(/not in a pod.*IMGROUP_KUBECONFIG/);
  });

  it('gives every API request a deadline it does not already have: a request to a server that never answers is aborted', async () => {
    // Accepts the connection and never says a word: only the deadline can end the request.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const server = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const kc = loadKubeConfig({ kubeconfig: kubeconfigFile(server, { skipTlsVerify: true }), requestTimeoutMs: 200 });
      expect(kc.getCurrentCluster()?.server).toBe(server);
      await expect(kc.makeApiClient(CoreV1Api).listNamespace()).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      silent.close();
    }
  });

  it('keeps a deadline the request already has', async () => {
    const kc = loadKubeConfig({ kubeconfig: kubeconfigFile('https://127.0.0.1:6443'), requestTimeoutMs: 1000 });
    const fresh = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
    await kc.applySecurityAuthentication(fresh);
    expect(fresh.getSignal()).toBeInstanceOf(AbortSignal);
    const own = new AbortController().signal;
    const ctx = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
    ctx.setSignal(own);
    await kc.applySecurityAuthentication(ctx);
    expect(ctx.getSignal()).toBe(own);
  });

  describe('in cluster, the ServiceAccount files in another directory (IMGROUP_SERVICE_ACCOUNT_DIR)', () => {
    afterEach(() => vi.unstubAllEnvs());

    function serviceAccountDir(token: string, namespace: string): string {
      const dir = mkdtempSync(join(tmpdir(), 'imgroup-sa-'));
      writeFileSync(join(dir, 'token'), token);
      writeFileSync(join(dir, 'ca.crt'), 'not read until a connection is made');
      writeFileSync(join(dir, 'namespace'), namespace);
      return dir;
    }

    it('talks to KUBERNETES_SERVICE_HOST/PORT with the token and CA of that directory', async () => {
      vi.stubEnv('KUBERNETES_SERVICE_HOST', '127.0.0.1');
      vi.stubEnv('KUBERNETES_SERVICE_PORT', '16443');
      const dir = serviceAccountDir('sa-token-1', 'team-a');
      const kc = loadKubeConfig({ serviceAccountDir: dir, requestTimeoutMs: 1000 });
      expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://127.0.0.1:16443', caFile: join(dir, 'ca.crt') });
      const ctx = new RequestContext('https://127.0.0.1:16443/api', 'GET' as never);
      await kc.applySecurityAuthentication(ctx);
      expect(ctx.getHeaders().Authorization).toBe('Bearer sa-token-1');
      expect(serviceAccountNamespace(dir)).toBe('team-a');
    });

    it('keeps client-node\'s own paths for the standard directory, and reads no namespace where there is none', () => {
      vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.0.0.1');
      vi.stubEnv('KUBERNETES_SERVICE_PORT', '443');
      const kc = loadKubeConfig({ serviceAccountDir: DEFAULT_SERVICE_ACCOUNT_DIR, requestTimeoutMs: 1000 });
      expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://10.0.0.1:443', caFile: `${DEFAULT_SERVICE_ACCOUNT_DIR}/ca.crt` });
      expect(serviceAccountNamespace(join(tmpdir(), 'no-such-imgroup-dir'))).toBeUndefined();
    });
  });
});
