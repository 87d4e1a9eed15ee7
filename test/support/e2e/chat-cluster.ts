/**
 * What a user looks at in an ImGroupCluster the operator runs, read as the user reads it (the API,
 * the pods' own ports): its conditions, its pods, the Redis Cluster's view of itself, the
 * membership ConfigMap, the generated credentials. Every reader is a snapshot; tests wait for a
 * state with `eventually`.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { AUTH_SECRET_KEYS, authSecretName } from '../../../operator/desired/auth-secret.js';
import { LABEL_COMPONENT, LABEL_INSTANCE } from '../../../operator/desired/object-meta.js';
import { REDIS_PORT } from '../../../operator/desired/ports.js';
import { parseMembership } from '../../../runtime/protocol/membership.js';
import { MERGE_PATCH } from '../node-agent/agent-api.js';
import type { KubeClients } from '../operator-fixture.js';

export type Component = 'gate' | 'logic' | 'redis';

export const isPodReady = (p: V1Pod): boolean =>
  !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export class ChatCluster {
  constructor(
    private readonly k: KubeClients,
    readonly namespace: string,
    readonly name: string,
  ) {}

  async read(): Promise<ImGroupCluster> {
    return (await this.k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name: this.name })) as ImGroupCluster;
  }

  async condition(type: string): Promise<string | undefined> {
    return (await this.read()).status?.conditions?.find((c) => c.type === type)?.status;
  }

  async pods(component: Component): Promise<V1Pod[]> {
    const list = await this.k.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABEL_INSTANCE}=${this.name},${LABEL_COMPONENT}=${component}` });
    return list.items.filter((p) => !p.metadata?.deletionTimestamp).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true }));
  }

  async readyPodNames(component: Component): Promise<string[]> {
    return (await this.pods(component)).filter(isPodReady).map((p) => p.metadata?.name ?? '');
  }

  /** The member ids of the published membership document (`<name>-membership`, key membership.json). */
  async membershipIds(): Promise<string[]> {
    const cm = await this.k.core.readNamespacedConfigMap({ namespace: this.namespace, name: `${this.name}-membership` });
    const parsed = parseMembership(cm.data?.['membership.json'] ?? '');
    if (!parsed.ok) throw new Error(`membership ConfigMap unreadable: ${parsed.error}`);
    return parsed.doc.members.map((m) => m.id).sort();
  }

  /** The generated credentials (Secret `<name>-auth`): what a user fetches to sign client tokens. */
  async credentials(): Promise<{ jwtSecret: string; adminToken: string; redisPassword: string }> {
    const secret = await this.k.core.readNamespacedSecret({ namespace: this.namespace, name: authSecretName(await this.read()) });
    const value = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    return { jwtSecret: value(AUTH_SECRET_KEYS.jwtSecret), adminToken: value(AUTH_SECRET_KEYS.adminToken), redisPassword: value(AUTH_SECRET_KEYS.redisPassword) };
  }

  /** CLUSTER INFO of one Redis pod, as key → value. */
  async redisClusterInfo(podIP: string, password: string): Promise<Record<string, string>> {
    const redis = new Redis({ host: podIP, port: REDIS_PORT, password: password || undefined, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
    try {
      await redis.connect();
      const text = (await redis.call('CLUSTER', 'INFO')) as string;
      return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
    } finally {
      redis.disconnect();
    }
  }

  /** Every Ready Redis pod says cluster_state:ok with all 16384 slots assigned and ok, and `masters` masters. */
  async redisHealthy(masters: number): Promise<boolean> {
    const { redisPassword } = await this.credentials();
    const pods = (await this.pods('redis')).filter(isPodReady);
    if (pods.length === 0) return false;
    for (const p of pods) {
      const info = await this.redisClusterInfo(p.status?.podIP ?? '', redisPassword);
      if (info.cluster_state !== 'ok' || info.cluster_slots_assigned !== '16384' || info.cluster_slots_ok !== '16384' || info.cluster_size !== String(masters)) return false;
    }
    return true;
  }

  /** Merge-patch the spec (what `kubectl patch --type merge` does). */
  async patchSpec(spec: Record<string, unknown>): Promise<void> {
    await this.k.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name: this.name, body: { spec } }, MERGE_PATCH);
  }

  /** A failed wait's context: conditions, status.redis, pods. */
  async explain(): Promise<string> {
    const c = await this.read().catch(() => null);
    const pods = await Promise.all((['gate', 'logic', 'redis'] as const).map(async (comp) => `${comp}: ${(await this.pods(comp).catch(() => [])).map((p) => `${p.metadata?.name}${isPodReady(p) ? '' : '(not Ready)'}`).join(' ')}`));
    return `conditions: ${JSON.stringify(c?.status?.conditions ?? [])}\nstatus.redis: ${JSON.stringify(c?.status?.redis ?? {})}\n${pods.join('\n')}`;
  }
}
