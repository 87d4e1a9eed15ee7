/** A Redis master SIGKILLed under load: its replica is promoted, nothing accepted is lost. */
import { expect, it } from 'vitest';
import { killRedisMaster } from './injectors/redis-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('SIGKILL of a Redis master loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(killRedisMaster(), { order: 4 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
