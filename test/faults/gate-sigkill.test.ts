/**
 * A gate SIGKILLed under load: nothing accepted is lost, and its users are shown offline within the
 * documented bound — 2 heartbeats (README, IMGROUP_HEARTBEAT_MS). As in the system failover test,
 * the bound is checked as state, not with a stopwatch: the gate's liveness key, read just before the
 * kill, expires within 1.5 heartbeats of its last refresh, and presence readers trust a liveness
 * they read for a quarter heartbeat; the time until every user was seen offline is measured and
 * reported next to the bound. The gate is then restarted (as its pod would be) and its clients
 * reconnect to it.
 */
import { Cluster } from 'ioredis';
import { expect, it } from 'vitest';
import { keys } from '../../runtime/redis/keys.js';
import { parseSeed } from '../../runtime/redis/redis-store.js';
import { eventually } from '../support/eventually.js';
import { killGate } from './injectors/process-faults.js';
import { HEARTBEAT_MS } from './support/fault-bed.js';
import { runFaultScenario } from './support/scenario.js';

const KILLED = 1;

it('SIGKILL of a gate loses no accepted message and shows its users offline within 2 heartbeats', async () => {
  const fault = killGate(KILLED);
  let livenessTtlMs = -1;
  const inject = fault.inject.bind(fault);
  fault.inject = async (bed) => {
    const redis = new Cluster(bed.cluster.seeds.map(parseSeed));
    try {
      livenessTtlMs = await redis.pttl(keys.gateAlive(bed.sys.gates[KILLED]!.name));
    } finally {
      redis.disconnect();
    }
    await inject(bed);
  };
  const { verdict } = await runFaultScenario(fault, {
    order: 1,
    during: async (bed, killedAt) => {
      const users = bed.driver.users.filter((u) => u.gate === KILLED).map((u) => u.userId);
      const online = async (u: string) => (await bed.sys.admin('GET', `/v1/users/${u}/presence`, undefined, 0)).body.online === true;
      await eventually('every user of the killed gate shown offline', async () => (await Promise.all(users.map(online))).every((o) => !o));
      const offlineMs = Date.now() - killedAt;
      return `users offline after ${offlineMs} ms (bound: 2 heartbeats = ${2 * HEARTBEAT_MS} ms; liveness TTL at kill ${livenessTtlMs} ms)`;
    },
  });
  expect(livenessTtlMs).toBeGreaterThan(0);
  expect(livenessTtlMs).toBeLessThanOrEqual(1.5 * HEARTBEAT_MS);
  expect(verdict.accepted).toBeGreaterThan(0);
});
