/**
 * Presence lost in Redis under open connections (as a Redis failover loses an acknowledged but
 * unreplicated write): the gate writes its connections' presence again, the users count as online
 * again and receive every message; nothing accepted is lost. Found by the Redis master scenario:
 * before the gate re-wrote presence, such a member stayed "offline" for as long as its connection
 * lived and received nothing more.
 */
import { expect, it } from 'vitest';
import { losePresence } from './injectors/presence-faults.js';
import { runFaultScenario } from './support/scenario.js';

it('a presence entry lost in Redis is written again; its user misses nothing', async () => {
  const { verdict } = await runFaultScenario(losePresence(0), { order: 10 });
  expect(verdict.accepted).toBeGreaterThan(0);
});
