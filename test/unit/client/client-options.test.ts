import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { type ClientOptions, resolveClientOptions } from '../../../runtime/client/client-options.js';

const base: ClientOptions = { url: 'ws://127.0.0.1:1/v1/ws', token: 't', WebSocket };

describe('resolveClientOptions', () => {
  it('fills in documented defaults', () => {
    const o = resolveClientOptions(base);
    expect(o).toMatchObject({
      tokenTransport: 'query',
      reconnectMinMs: 500,
      reconnectMaxMs: 30_000,
      pingIntervalMs: null,
      ackDelayMs: 100,
      sendTimeoutMs: 10_000,
      sendDeadlineMs: 60_000,
      maxPendingSends: 1000,
      maxHeldPerGroup: 1000,
      syncPageLimit: 100,
    });
  });

  it.each([
    ['url', { url: 'http://x/v1/ws' }, 'url'],
    ['url', { url: 5 }, 'url'],
    ['token', { token: '' }, 'token'],
    ['token', { token: 5 }, 'token'],
    ['WebSocket', { WebSocket: undefined }, 'WebSocket'],
    ['tokenTransport', { tokenTransport: 'cookie' }, 'tokenTransport'],
    ['reconnectMinMs', { reconnectMinMs: 0 }, 'reconnectMinMs'],
    ['reconnectMaxMs', { reconnectMaxMs: 1.5 }, 'reconnectMaxMs'],
    ['reconnectMinMs > reconnectMaxMs', { reconnectMinMs: 100, reconnectMaxMs: 50 }, 'must not exceed reconnectMaxMs'],
    ['ackDelayMs', { ackDelayMs: -1 }, 'ackDelayMs'],
    ['sendTimeoutMs', { sendTimeoutMs: 2 ** 31 }, 'sendTimeoutMs'],
    ['maxPendingSends', { maxPendingSends: 0 }, 'maxPendingSends'],
    ['maxHeldPerGroup', { maxHeldPerGroup: Number.NaN }, 'maxHeldPerGroup'],
    ['syncPageLimit', { syncPageLimit: '10' }, 'syncPageLimit'],
    ['pingIntervalMs', { pingIntervalMs: 0 }, 'pingIntervalMs'],
  ])('rejects a bad %s', (_name, patch, fragment) => {
    expect(() => resolveClientOptions({ ...base, ...(patch as object) } as ClientOptions)).toThrow(fragment);
  });
});
