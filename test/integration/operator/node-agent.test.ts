import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NodeAgent, redisRuntime } from '../../support/node-agent/index.js';
import { createNamespace, eventually, type KubeClients, kubeClients, quietLogger } from '../../support/operator-fixture.js';

describe('node agent', () => {
  let k: KubeClients;
  let ns: string;
  let agent: NodeAgent;

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    ns = await createNamespace(k, 'agent');
    agent = new NodeAgent({ kubeconfig: k.kc, runtimes: [redisRuntime()], bind: { namespace: ns, labelSelector: 'test=agent' }, probePeriodCapMs: 500, log: quietLogger() });
    await agent.start();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it('runs a redis pod', async () => {
    await k.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'r1', labels: { test: 'agent' } }, spec: { containers: [{ name: 'redis', image: 'redis:7.2', args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''], env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], ports: [{ name: 'redis', containerPort: 6379 }], readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5 } }] } } });
    await eventually('ready', async () => {
      const p = await k.core.readNamespacedPod({ namespace: ns, name: 'r1' });
      return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    }, 30_000);
    const p = await k.core.readNamespacedPod({ namespace: ns, name: 'r1' });
    console.log(JSON.stringify(p.status, null, 1));
    const r = new Redis({ host: p.status?.podIP, port: 6379, lazyConnect: true });
    await r.connect();
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });
});
