/**
 * The internal port of a logic node against whoever can reach it: connections refused for a bad
 * token are counted by reason and cost a bounded number of log lines however many there are;
 * TCP connections that never send an upgrade request are closed after the handshake timeout.
 * Gates with the right token keep linking meanwhile.
 */
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLog, type CapturedLog } from '../../support/log-capture.js';
import { GateDriver, HandshakeRefused } from './gate-driver.js';
import { startTestLogic, type TestLogic } from './logic-fixture.js';

let logic: TestLogic;
let captured: CapturedLog;

beforeAll(async () => {
  captured = captureLog('info');
  logic = await startTestLogic(inject('redisSeeds'), { IMGROUP_HANDSHAKE_TIMEOUT_MS: '1000', IMGROUP_REFUSAL_LOG_INTERVAL_MS: '600000' }, { log: captured.log });
});
afterAll(async () => {
  await logic?.close();
});

const refusedLines = () => captured.lines().filter((l) => l.msg === 'internal link refused' || l.component === 'refusals');

describe('refused internal links', () => {
  it('counts 200 attempts with a wrong token by reason and logs them once', async () => {
    const before = await logic.metric('imgroup_logic_internal_refused_total', { reason: 'wrong_token' });
    const linesBefore = refusedLines().filter((l) => l.kind === 'wrong_token').length;
    for (let i = 0; i < 200; i++) {
      const err = await GateDriver.connect(logic.url, { token: `wrong-${i}` }).then(
        (d) => {
          d.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HandshakeRefused);
      expect((err as HandshakeRefused).status).toBe(401);
    }
    expect(await logic.metric('imgroup_logic_internal_refused_total', { reason: 'wrong_token' })).toBe(before + 200);
    const lines = refusedLines();
    // One line for the first of the flood (none at all if an earlier test opened the window).
    expect(lines.filter((l) => l.kind === 'wrong_token').length - linesBefore).toBeLessThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(3);
    // The right token still links.
    const driver = await logic.driver();
    driver.close();
  });

  it('closes TCP connections that send no upgrade request within the handshake timeout', async () => {
    const before = await logic.metric('imgroup_logic_handshake_timeouts_total');
    const port = Number(new URL(logic.url).port);
    const closed = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<string>((resolve, reject) => {
            const s = createConnection({ host: '127.0.0.1', port });
            let received = '';
            s.on('data', (d) => (received += String(d)));
            s.once('error', reject);
            s.once('close', () => resolve(received));
          }),
      ),
    );
    expect(closed).toEqual(Array.from({ length: 10 }, () => ''));
    expect(await logic.metric('imgroup_logic_handshake_timeouts_total')).toBe(before + 10);
  });
});
