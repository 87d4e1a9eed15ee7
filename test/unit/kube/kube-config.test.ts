import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config/options.js';
import { loadKubeConfig } from '../../../runtime/kube/kube-config.js';

function kubeconfigFile(server: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'imgroup-kc-')), 'kubeconfig');
  writeFileSync(path, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', `    server: ${server}`, 'users:', '- name: u', '  user: {token: t}', 'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', ''].join('\n'));
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

  it('gives every API request a deadline it does not already have', async () => {
    const kc = loadKubeConfig({ kubeconfig: kubeconfigFile('https://127.0.0.1:6443'), requestTimeoutMs: 50 });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    const ctx = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
    await kc.applySecurityAuthentication(ctx);
    const signal = ctx.getSignal() as AbortSignal;
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(signal.aborted).toBe(true);
    const own = new AbortController().signal;
    const ctx2 = new RequestContext('https://127.0.0.1:6443/api', 'GET' as never);
    ctx2.setSignal(own);
    await kc.applySecurityAuthentication(ctx2);
    expect(ctx2.getSignal()).toBe(own);
  });
});
