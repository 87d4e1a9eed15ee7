/** One gate's connections to Redis cut for 10 s, then restored (a TCP proxy): nothing accepted is lost. */
import { expect, it } from 'vitest';
import { cutGateRedis } from './injectors/network-faults.js';
import { runFaultScenario } from './support/scenario.js';

it("cutting a gate's Redis connections and restoring them loses no accepted message", async () => {
  const fault = cutGateRedis(1, 10_000);
  const { verdict } = await runFaultScenario(fault, { order: 8, bed: fault.bedOptions, cleanup: () => fault.close() });
  expect(verdict.accepted).toBeGreaterThan(0);
});
