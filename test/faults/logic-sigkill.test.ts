/** A logic node SIGKILLed under load: its groups move to the other node, nothing accepted is lost. */
import { expect, it } from 'vitest';
import { killLogic } from './injectors/process-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('SIGKILL of a logic node loses no accepted message', async () => {
  const { verdict } = await runFaultScenario(killLogic(1), { order: 2 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
