/**
 * The pod template shared by gate and logic StatefulSets: one container of the imgroup runtime
 * image (runtimeImage) running `imgroup <component>`, configured by env, probed on its ops port (`/readyz` for
 * readiness — it fails as soon as the process drains —, `/healthz` for liveness, with a startup
 * probe so a slow start is not killed), a grace period that holds the process's drain,
 * hardened (pod-security.ts), with a writable /tmp as its only scratch space.
 */
import type { V1ContainerPort, V1EnvVar, V1PodTemplateSpec, V1Probe, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { DEFAULT_IMAGE } from '../api/spec-schema.js';
import type { ImGroupClusterSpec, ResourceRequirements } from '../api/v1alpha1.js';
import type { ClusterContext } from './cluster-context.js';
import { ownedLabels, selectorLabels } from './object-meta.js';
import { containerSecurityContext, podSecurityContext, spreadOverNodes } from './pod-security.js';
import { redisClientTlsVolumes } from './redis-tls.js';

export const TMP_VOLUME = 'tmp';
export const TMP_SIZE_LIMIT = '64Mi';
/** Grace period of Redis pods (gate and logic pods derive theirs from their drain, grace-period.ts). */
export const TERMINATION_GRACE_SECONDS = 30;

/** What the operator's configuration adds to a cluster's spec when computing runtime pods. */
export interface RuntimeDefaults {
  /**
   * Image of gate and logic pods when `spec.image` is absent (IMGROUP_OPERATOR_DEFAULT_IMAGE, set
   * by the Helm chart from its image values). Absent: DEFAULT_IMAGE.
   */
  defaultImage?: string;
}

/** The runtime image of gate and logic pods: `spec.image` wins, then the operator's default. */
export function runtimeImage(spec: Pick<ImGroupClusterSpec, 'image'>, defaults: RuntimeDefaults = {}): string {
  return spec.image ?? defaults.defaultImage ?? DEFAULT_IMAGE;
}

/** Spec resources (int-or-string quantities) as the core/v1 type (strings). */
export function containerResources(r: ResourceRequirements): V1ResourceRequirements {
  const out: V1ResourceRequirements = {};
  if (r.limits) out.limits = Object.fromEntries(Object.entries(r.limits).map(([k, v]) => [k, String(v)]));
  if (r.requests) out.requests = Object.fromEntries(Object.entries(r.requests).map(([k, v]) => [k, String(v)]));
  return out;
}

export interface ProbeTiming {
  /** Readiness probe period; logic nodes use a short one, since membership follows readiness. */
  readinessPeriodSeconds: number;
}

function httpProbe(path: string, periodSeconds: number, failureThreshold: number): V1Probe {
  return { httpGet: { path, port: 'ops', scheme: 'HTTP' }, periodSeconds, timeoutSeconds: 2, failureThreshold, successThreshold: 1 };
}

export function opsProbes(timing: ProbeTiming): { readinessProbe: V1Probe; livenessProbe: V1Probe; startupProbe: V1Probe } {
  return {
    readinessProbe: httpProbe('/readyz', timing.readinessPeriodSeconds, 2),
    livenessProbe: httpProbe('/healthz', 10, 3),
    startupProbe: httpProbe('/healthz', 2, 30),
  };
}

export interface RuntimePodOptions {
  component: 'gate' | 'logic';
  defaults: RuntimeDefaults;
  env: V1EnvVar[];
  ports: V1ContainerPort[];
  resources: ResourceRequirements;
  timing: ProbeTiming;
  /** Volumes beyond /tmp, with their mounts. */
  volumes?: { volume: V1Volume; mount: V1VolumeMount }[];
  /** Gate pods: the ServiceAccount whose token reads N-membership; others get no token. */
  serviceAccountName?: string;
  /** The process's shutdown timeout plus a margin (grace-period.ts). */
  terminationGracePeriodSeconds: number;
  /** Annotations of the pod template (a change rolls the pods). */
  annotations?: Record<string, string>;
}

export function runtimePodTemplate(ctx: ClusterContext, o: RuntimePodOptions): V1PodTemplateSpec {
  const extra = [...(o.volumes ?? []), ...redisClientTlsVolumes(ctx)];
  return {
    metadata: { labels: ownedLabels(ctx, o.component), ...(o.annotations ? { annotations: { ...o.annotations } } : {}) },
    spec: {
      ...(o.serviceAccountName !== undefined
        ? { serviceAccountName: o.serviceAccountName, automountServiceAccountToken: true }
        : { automountServiceAccountToken: false }),
      enableServiceLinks: false,
      terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
      securityContext: podSecurityContext(),
      affinity: spreadOverNodes(selectorLabels(ctx, o.component)),
      containers: [
        {
          name: o.component,
          image: runtimeImage(ctx.spec, o.defaults),
          args: [o.component],
          env: o.env,
          ports: o.ports,
          resources: containerResources(o.resources),
          ...opsProbes(o.timing),
          securityContext: containerSecurityContext(),
          volumeMounts: [{ name: TMP_VOLUME, mountPath: '/tmp' }, ...extra.map((e) => e.mount)],
        },
      ],
      volumes: [{ name: TMP_VOLUME, emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }, ...extra.map((e) => e.volume)],
    },
  };
}
