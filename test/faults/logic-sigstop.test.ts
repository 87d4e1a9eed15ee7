/** A logic node frozen (SIGSTOP) for 20 s, then resumed (SIGCONT): nothing accepted is lost. */
import { expect, it } from 'vitest';
import { pauseLogic } from './injectors/process-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('SIGSTOP of a logic node for 20 s, then SIGCONT, loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(pauseLogic(1, 20_000), { order: 3 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
