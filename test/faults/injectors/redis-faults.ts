/**
 * Faults of the Redis Cluster: a master or a replica SIGKILLed. Healing is what a StatefulSet
 * does: the node starts again in place (same port, same nodes.conf) and rejoins — a killed master
 * as a replica of the one promoted in its stead — and the bed waits until every replica is in sync,
 * so the next fault (the soak rotates them) finds a cluster that can fail over again.
 */
import { eventually } from '../../support/eventually.js';
import type { FaultBed } from '../support/fault-bed.js';
import type { Fault } from './fault.js';

/** Index (in cluster.nodes) of a running node with the given role; a master only if a replica follows it. */
async function nodeWithRole(bed: FaultBed, role: 'master' | 'slave'): Promise<number> {
  const { nodes, admin } = bed.cluster;
  for (const [i, n] of nodes.entries()) {
    if (!n.running) continue;
    const info = String(await admin.command(n.addr, 'info', 'replication'));
    if (!info.includes(`role:${role}`)) continue;
    if (role === 'master' && !/connected_slaves:[1-9]/.test(info)) continue;
    return i;
  }
  throw new Error(`no running Redis ${role} to kill`);
}

/** Every running node reports cluster_state:ok and none of them sees a failed master owning slots. */
async function clusterOk(bed: FaultBed): Promise<void> {
  const { nodes, admin } = bed.cluster;
  await eventually(
    'the Redis Cluster is ok on every running node',
    async () => {
      for (const n of nodes) {
        if (!n.running) continue;
        if ((await admin.clusterInfo(n.addr)).state !== 'ok') return false;
        const view = await admin.nodes(n.addr);
        if (view.nodes.some((x) => x.role === 'master' && x.flags.has('fail') && x.slots.length > 0)) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, retryErrors: true },
  );
}

async function restartInPlace(bed: FaultBed, index: number): Promise<void> {
  const nodes = bed.cluster.nodes;
  nodes[index] = await nodes[index]!.respawn();
  await clusterOk(bed);
  await bed.waitReplicasInSync();
}

/**
 * The killed master's slots are served by another node, as every running node sees it. Restarting
 * the victim before this would be a different fault: a master without persistence back within the
 * failure-detection window keeps its slots and comes back empty.
 */
async function failedOver(bed: FaultBed, victimId: string): Promise<void> {
  const { nodes, admin } = bed.cluster;
  await eventually(
    'a replica promoted in place of the killed master',
    async () => {
      for (const n of nodes) {
        if (!n.running) continue;
        const view = await admin.nodes(n.addr);
        if (view.nodes.some((x) => x.id === victimId && x.role === 'master' && x.slots.length > 0)) return false;
      }
      return true;
    },
    { timeoutMs: 120_000, retryErrors: true },
  );
}

export function killRedisMaster(): Fault {
  let victim = -1;
  let victimId = '';
  return {
    name: 'redis-master-sigkill',
    injected: 'SIGKILL a Redis master (its replica promoted; the node restarted afterwards)',
    async inject(bed) {
      victim = await nodeWithRole(bed, 'master');
      const view = await bed.cluster.admin.nodes(bed.cluster.nodes[victim]!.addr);
      victimId = view.nodes.find((x) => x.flags.has('myself'))!.id;
      await bed.cluster.nodes[victim]!.kill();
    },
    async heal(bed) {
      await failedOver(bed, victimId);
      await clusterOk(bed);
      await restartInPlace(bed, victim);
    },
  };
}

export function killRedisReplica(): Fault {
  let victim = -1;
  return {
    name: 'redis-replica-sigkill',
    injected: 'SIGKILL a Redis replica (restarted afterwards)',
    async inject(bed) {
      victim = await nodeWithRole(bed, 'slave');
      await bed.cluster.nodes[victim]!.kill();
    },
    async heal(bed) {
      await restartInPlace(bed, victim);
    },
  };
}
