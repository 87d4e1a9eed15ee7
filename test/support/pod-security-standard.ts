/**
 * The `restricted` Pod Security Standard (Kubernetes 1.29+, policies of the baseline and restricted
 * levels) as a check of a pod spec: what the API server's PodSecurity admission would refuse in a
 * namespace labelled `pod-security.kubernetes.io/enforce=restricted`, one message per violation.
 * Written from the published standard (kubernetes.io/docs/concepts/security/pod-security-standards)
 * so that unit tests can check pod templates; the end-to-end suite applies them to the real API server.
 */
import type { V1Container, V1PodSpec, V1SecurityContext } from '@kubernetes/client-node';

const ALLOWED_VOLUME_SOURCES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Violations of the restricted level by `spec`; empty when it passes. */
export function restrictedViolations(spec: V1PodSpec): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork) out.push('hostNetwork');
  if (spec.hostPID) out.push('hostPID');
  if (spec.hostIPC) out.push('hostIPC');
  for (const v of spec.volumes ?? []) {
    const sources = Object.keys(v).filter((k) => k !== 'name' && (v as unknown as Record<string, unknown>)[k] !== undefined);
    for (const s of sources) if (!ALLOWED_VOLUME_SOURCES.has(s)) out.push(`volume ${v.name}: ${s}`);
  }
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) out.push(`sysctl ${s.name}`);
  if (pod.seLinuxOptions?.user || pod.seLinuxOptions?.role || !SELINUX_TYPES.has(pod.seLinuxOptions?.type ?? '')) out.push('pod seLinuxOptions');
  if (pod.runAsUser === 0) out.push('pod runAsUser 0');
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost') out.push(`pod seccompProfile ${podSeccomp}`);
  const containers: [string, V1Container][] = [
    ...(spec.initContainers ?? []).map((c): [string, V1Container] => [`initContainer ${c.name}`, c]),
    ...(spec.containers ?? []).map((c): [string, V1Container] => [`container ${c.name}`, c]),
  ];
  for (const [where, c] of containers) {
    const sc: V1SecurityContext = c.securityContext ?? {};
    if (sc.privileged) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') out.push(`${where}: capability ${cap} added`);
    if (sc.runAsNonRoot === false || (sc.runAsNonRoot !== true && pod.runAsNonRoot !== true)) out.push(`${where}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') out.push(`${where}: procMount ${sc.procMount}`);
    if (sc.seLinuxOptions?.user || sc.seLinuxOptions?.role || !SELINUX_TYPES.has(sc.seLinuxOptions?.type ?? '')) out.push(`${where}: seLinuxOptions`);
    if (sc.windowsOptions?.hostProcess) out.push(`${where}: hostProcess`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${where}: hostPort ${p.hostPort}`);
  }
  return out;
}
