/**
 * A rolling update of the gates under load: each gate stopped with SIGTERM and started again, one
 * by one. Only "nothing lost" is required here (the graceful drain is another change).
 */
import { expect, it } from 'vitest';
import { rollingGates } from './injectors/process-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('restarting every gate one by one loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(rollingGates(), { order: 6 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
