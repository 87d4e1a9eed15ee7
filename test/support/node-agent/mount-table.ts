/**
 * A container's mount paths (`/data`, `/etc/imgroup/membership`) do not exist on the host: the
 * agent rewrites them. A command/args element, env value or workingDir that equals a mount path,
 * starts with `<mountPath>/`, or has that form after the first `=` (`--dir=/data`,
 * `path=/data/x`) gets the volume's host directory (plus its subPath) instead. The longest
 * mount path wins, and every value is rewritten once (a host path under /tmp is not rewritten
 * again by an emptyDir mounted at /tmp). Paths the program finds by itself — a built-in default,
 * a path inside a config file — are not seen; pass them in args or env.
 */
import { mkdirSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { expandEnvReferences } from '../../../operator/desired/env-references.js';
import type { PreparedVolume } from './pod-volumes.js';
import { VolumeError } from './pod-volumes.js';

export interface Mount {
  mountPath: string;
  hostPath: string;
}

export class MountTable {
  private readonly mounts: Mount[];

  constructor(mounts: readonly Mount[]) {
    this.mounts = mounts
      .map((m) => ({ mountPath: trimSlash(m.mountPath), hostPath: m.hostPath }))
      .sort((a, b) => b.mountPath.length - a.mountPath.length);
  }

  /** The container's mounts; `env` expands subPathExpr. Creates subPath directories. */
  static forContainer(container: V1Container, volumes: readonly PreparedVolume[], env: Readonly<Record<string, string>>): MountTable {
    const mounts: Mount[] = [];
    for (const vm of container.volumeMounts ?? []) {
      const volume = volumes.find((v) => v.name === vm.name);
      if (!volume) throw new VolumeError(`container ${container.name}: volumeMount ${vm.name} names no volume of the pod`);
      const sub = vm.subPathExpr ? expandEnvReferences(vm.subPathExpr, env) : (vm.subPath ?? '');
      const normalized = sub ? normalize(sub) : '';
      if (normalized.startsWith('..') || normalized.startsWith('/')) throw new VolumeError(`container ${container.name}: subPath ${JSON.stringify(sub)} leaves volume ${vm.name}`);
      const hostPath = normalized ? join(volume.hostPath, normalized) : volume.hostPath;
      if (normalized) mkdirSync(hostPath, { recursive: true });
      mounts.push({ mountPath: vm.mountPath, hostPath });
    }
    return new MountTable(mounts);
  }

  get entries(): readonly Mount[] {
    return this.mounts;
  }

  /** The host path of a container path, or null when no mount covers it. */
  hostPathOf(path: string): string | null {
    for (const m of this.mounts) {
      if (path === m.mountPath) return m.hostPath;
      if (path.startsWith(`${m.mountPath}/`)) return m.hostPath + path.slice(m.mountPath.length);
    }
    return null;
  }

  /** The value with a leading mount path (or one after the first `=`) replaced by its host path. */
  rewrite(value: string): string {
    const whole = this.hostPathOf(value);
    if (whole !== null) return whole;
    const eq = value.indexOf('=');
    if (eq < 0) return value;
    const after = this.hostPathOf(value.slice(eq + 1));
    return after === null ? value : `${value.slice(0, eq + 1)}${after}`;
  }
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
