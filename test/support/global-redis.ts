/**
 * vitest globalSetup of the integration project: one 3-master/3-replica Redis Cluster for the
 * whole run. Tests read its seeds with `inject('redisSeeds')` and must use keys of their own
 * (random ids), since every integration test file shares it.
 */
import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './redis-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisSeeds: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  project.provide('redisSeeds', cluster.seeds);
  return async () => {
    await cluster.stop();
  };
}
