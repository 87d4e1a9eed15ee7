/**
 * A logic node whose Redis Cluster cannot be reached answers every request UNAVAILABLE (which
 * gates and clients retry) instead of leaving it unanswered, and still closes cleanly.
 */
import { getFreePorts } from '../../support/free-ports.js';
import { describe, expect, it } from 'vitest';
import { startTestLogic, uid } from './logic-fixture.js';

describe('without Redis', () => {
  it('answers requests UNAVAILABLE within the request deadline', async () => {
    const [deadPort] = await getFreePorts(1);
    const logic = await startTestLogic([`127.0.0.1:${deadPort}`], {
      IMGROUP_REDIS_COMMAND_TIMEOUT_MS: '100',
      IMGROUP_LOGIC_REQUEST_TIMEOUT_MS: '300',
      IMGROUP_LOGIC_SHUTDOWN_TIMEOUT_MS: '1000',
    });
    try {
      const gate = await logic.driver();
      const g = uid('g');
      const res = await Promise.all([
        gate.request({ op: 'send', userId: 'alice', groupId: g, clientId: 'c1', body: 'x' }),
        gate.request({ op: 'sync', userId: 'alice', groupId: g, afterSeq: 0, limit: 10 }),
        gate.request({ op: 'login', userId: 'alice', connId: 'c' }),
        gate.request({ op: 'members.update', groupId: g, add: ['alice'], remove: [] }),
      ]);
      for (const r of res) expect(r).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
      expect(await logic.metric('imgroup_logic_requests_total', { code: 'UNAVAILABLE' })).toBe(4);
    } finally {
      await logic.close();
    }
  });
});
