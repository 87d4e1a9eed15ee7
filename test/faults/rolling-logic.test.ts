/** A rolling update of the logic nodes under load: SIGTERM and restart, one by one. */
import { expect, it } from 'vitest';
import { rollingLogic } from './injectors/process-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('restarting every logic node one by one loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(rollingLogic(), { order: 7 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
