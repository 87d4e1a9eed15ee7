/**
 * The operator as installed by a Helm release: its Deployment (found by the release's standard
 * label `app.kubernetes.io/instance`, not by a name the chart may choose), its pods, which of them
 * leads (each replica's `imgroup_operator_leader` gauge on its ops port), and its ServiceAccount.
 */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../operator-fixture.js';
import { metricValue } from '../system.js';
import { isPodReady } from './chat-cluster.js';

export class OperatorRelease {
  constructor(
    private readonly k: KubeClients,
    readonly namespace: string,
    readonly release: string,
  ) {}

  /** The release's Deployment that runs `imgroup operator` (null before the install). */
  async deployment(): Promise<V1Deployment | null> {
    const list = await this.k.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: `app.kubernetes.io/instance=${this.release}` });
    return list.items.find((d) => (d.spec?.template.spec?.containers ?? []).some((c) => (c.args ?? []).includes('operator') || (c.command ?? []).includes('operator'))) ?? null;
  }

  async pods(): Promise<V1Pod[]> {
    const d = await this.deployment();
    const labels = d?.spec?.selector.matchLabels;
    if (!labels) return [];
    const selector = Object.entries(labels).map(([key, v]) => `${key}=${v}`).join(',');
    return (await this.k.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
  }

  async readyPods(): Promise<V1Pod[]> {
    return (await this.pods()).filter(isPodReady);
  }

  async serviceAccount(): Promise<string> {
    const d = await this.deployment();
    const sa = d?.spec?.template.spec?.serviceAccountName;
    if (!sa) throw new Error(`release ${this.release} has no operator Deployment with a ServiceAccount`);
    return sa;
  }

  /** `imgroup_operator_leader` of each Ready pod, by pod name (its ops port: the container port that serves /metrics). */
  async leaderGauges(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const p of await this.readyPods()) {
      const ports = (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []).map((port) => port.containerPort);
      for (const port of ports) {
        const text = await fetch(`http://${p.status?.podIP}:${port}/metrics`, { signal: AbortSignal.timeout(3000) }).then((r) => (r.ok ? r.text() : ''), () => '');
        if (!text.includes('imgroup_operator_leader')) continue;
        out[p.metadata?.name ?? ''] = metricValue(text, 'imgroup_operator_leader');
        break;
      }
    }
    return out;
  }

  /** Exactly `replicas` pods Ready and exactly one of them leading. */
  async settled(replicas: number): Promise<boolean> {
    const gauges = await this.leaderGauges();
    const values = Object.values(gauges);
    return values.length === replicas && values.filter((v) => v === 1).length === 1;
  }

  async explain(): Promise<string> {
    const pods = await this.pods().catch(() => []);
    return `operator pods: ${pods.map((p) => `${p.metadata?.name} ${p.status?.phase} ready=${isPodReady(p)}`).join('; ') || 'none'}; leader gauges ${JSON.stringify(await this.leaderGauges().catch(() => ({})))}`;
  }
}
