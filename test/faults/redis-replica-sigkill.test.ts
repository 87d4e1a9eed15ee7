/** A Redis replica SIGKILLed under load (and restarted): nothing accepted is lost. */
import { expect, it } from 'vitest';
import { killRedisReplica } from './injectors/redis-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('SIGKILL of a Redis replica loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(killRedisReplica(), { order: 5 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
