/**
 * The internal links from the gates to one logic node go silent without closing (a TCP proxy holds
 * every byte): the gates drop the node after their link pings go unanswered, route around it, link
 * again through fresh connections; nothing accepted is lost.
 */
import { expect, it } from 'vitest';
import { silenceLogicLink } from './injectors/network-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('a silent gate↔logic link loses no accepted message', async () => {
  const fault = silenceLogicLink(1);
  const { verdict } = await runFaultScenario(fault, { order: 9, bed: fault.bedOptions, cleanup: () => fault.close() });
  expect(verdict.accepted).toBeGreaterThan(0);
});
