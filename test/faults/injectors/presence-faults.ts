/**
 * A presence entry lost in Redis while its connection stays open: what a Redis failover does to a
 * presence write the old master acknowledged but had not yet replicated (Redis replication is
 * asynchronous). Injected directly — the user's presence hash deleted — since the race of a real
 * failover is rare (the fault suite met it once in about ten master kills).
 */
import { Cluster } from 'ioredis';
import { keys } from '../../../runtime/redis/keys.js';
import { parseSeed } from '../../../runtime/redis/redis-store.js';
import { eventually } from '../../support/eventually.js';
import type { FaultBed } from '../support/fault-bed.js';
import type { Fault } from './fault.js';

export function isOnline(bed: FaultBed, userId: string): Promise<boolean> {
  return bed.sys.admin('GET', `/v1/users/${userId}/presence`).then((r) => r.body?.online === true);
}

/** The presence of the load's users on gate `gate` deleted in Redis; healed when the gate has written it again. */
export function losePresence(gate: number): Fault {
  return {
    name: 'presence-lost',
    injected: `presence entries of gate-${gate}'s users lost in Redis (connections stay open)`,
    async inject(bed) {
      const users = bed.driver.users.filter((u) => u.gate === gate).map((u) => u.userId);
      const redis = new Cluster(bed.cluster.seeds.map(parseSeed));
      try {
        for (const u of users) await redis.del(keys.userPresence(u));
      } finally {
        redis.disconnect();
      }
    },
    async heal(bed) {
      const users = bed.driver.users.filter((u) => u.gate === gate).map((u) => u.userId);
      await eventually('the users of the gate shown online again', async () => (await Promise.all(users.map((u) => isOnline(bed, u)))).every(Boolean), { timeoutMs: 120_000 });
    },
  };
}
