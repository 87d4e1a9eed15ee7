/**
 * The internal port of a logic node against whoever can reach it: connections refused for a bad
 * token are counted by reason and cost a bounded number of log lines however many there are;
 * TCP connections that never send an upgrade request are closed after the handshake timeout.
 * Gates with the right token keep linking meanwhile.
 */
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RefusalKind } from '../../../runtime/logic/internal-server.js';
import { GATE_BOOT_HEADER, GATE_HEADER } from '../../../runtime/protocol/internal-frames.js';
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

describe('forged internal links', () => {
  /** [name, headers replacing the gate's, reason counted]; each is refused with 401 before any link exists. */
  const forged: Array<[string, RefusalKind, (token: string) => Record<string, string>]> = [
    ['no token (an empty Authorization header)', 'missing_token', () => ({ authorization: '' })],
    ['a Basic scheme', 'missing_token', (t) => ({ authorization: `Basic ${Buffer.from(`gate:${t}`).toString('base64')}` })],
    ['Bearer with nothing after it (HTTP trims the value to the scheme)', 'missing_token', () => ({ authorization: 'Bearer ' })],
    ['the token with one character more', 'wrong_token', (t) => ({ authorization: `Bearer ${t}x` })],
    ['the token cut by one character', 'wrong_token', (t) => ({ authorization: `Bearer ${t.slice(0, -1)}` })],
    ['the right token, a gate name with a path traversal', 'bad_gate_headers', () => ({ [GATE_HEADER]: '../../gate-0' })],
    ['the right token, a gate name of 254 characters', 'bad_gate_headers', () => ({ [GATE_HEADER]: `g${'a'.repeat(253)}` })],
    ['the right token, a gate name with a space', 'bad_gate_headers', () => ({ [GATE_HEADER]: 'gate 0' })],
    ['the right token, no boot id', 'bad_gate_headers', () => ({ [GATE_BOOT_HEADER]: '' })],
    ['the right token, a boot id starting with a dot', 'bad_gate_headers', () => ({ [GATE_BOOT_HEADER]: '.boot' })],
  ];

  it.each(forged)('refuses %s with HTTP 401 and counts it as %s', async (_name, reason, headers) => {
    const before = await logic.metric('imgroup_logic_internal_refused_total', { reason });
    const err = await GateDriver.connect(logic.url, { token: logic.token, headers: headers(logic.token) }).then(
      (d) => {
        d.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HandshakeRefused);
    expect((err as HandshakeRefused).status).toBe(401);
    expect(await logic.metric('imgroup_logic_internal_refused_total', { reason })).toBe(before + 1);
  });
});
