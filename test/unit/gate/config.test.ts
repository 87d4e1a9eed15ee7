import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config/options.js';
import { DEV_ADMIN_TOKEN, DEV_JWT_SECRET, GATE_OPTIONS, resolveGateOptions } from '../../../runtime/gate/config.js';

const BASE = { IMGROUP_MEMBERSHIP_FILE: '/tmp/membership.json', IMGROUP_NODE_NAME: 'gate-0' };
const PROD = {
  ...BASE,
  IMGROUP_MODE: 'production',
  IMGROUP_JWT_SECRET: 'j'.repeat(32),
  IMGROUP_ADMIN_TOKEN: 'admin-token',
  IMGROUP_INTERNAL_TOKEN: 'internal-token',
};

describe('resolveGateOptions', () => {
  it('uses the documented defaults and warns about each development fallback', () => {
    const { options, warnings } = resolveGateOptions([], BASE);
    expect(options).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      opsPort: 9090,
      maxFrameBytes: 65536,
      maxBodyBytes: 16384,
      maxSyncLimit: 1000,
      defaultSyncLimit: 100,
      maxSyncsPerConnection: 2,
      ratePerSec: 50,
      rateBurst: 100,
      maxBadFrames: 10,
      maxGapFill: 100,
      presencePublish: true,
      drainWindowMs: 10_000,
      shutdownTimeoutMs: 25_000,
      jwtSecret: DEV_JWT_SECRET,
      adminToken: DEV_ADMIN_TOKEN,
      name: 'gate-0',
    });
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/IMGROUP_JWT_SECRET/);
  });

  it('accepts a complete production configuration without warnings, flags winning over env', () => {
    const { options, warnings } = resolveGateOptions(['--port', '0', '--presence-publish=false'], PROD);
    expect(warnings).toEqual([]);
    expect(options.port).toBe(0);
    expect(options.presencePublish).toBe(false);
    expect(options.mode).toBe('production');
  });

  const rejected: Array<[string, string[], Record<string, string | undefined>, RegExp]> = [
    ['no membership file', [], { IMGROUP_NODE_NAME: 'g' }, /IMGROUP_MEMBERSHIP_FILE/],
    ['production without a JWT secret', [], { ...PROD, IMGROUP_JWT_SECRET: undefined }, /IMGROUP_JWT_SECRET.*production/],
    ['production without an admin token', [], { ...PROD, IMGROUP_ADMIN_TOKEN: undefined }, /IMGROUP_ADMIN_TOKEN.*production/],
    ['production without an internal token', [], { ...PROD, IMGROUP_INTERNAL_TOKEN: undefined }, /IMGROUP_INTERNAL_TOKEN.*production/],
    ['production with a 31-byte JWT secret', [], { ...PROD, IMGROUP_JWT_SECRET: 'j'.repeat(31) }, /IMGROUP_JWT_SECRET.*32 bytes/],
    ['production with the development JWT secret', [], { ...PROD, IMGROUP_JWT_SECRET: DEV_JWT_SECRET }, /IMGROUP_JWT_SECRET.*development default/],
    ['a body limit equal to the frame limit', [], { ...BASE, IMGROUP_MAX_BODY_BYTES: '65536' }, /IMGROUP_MAX_BODY_BYTES.*IMGROUP_MAX_FRAME_BYTES/],
    ['a body limit above the frame limit', [], { ...BASE, IMGROUP_MAX_FRAME_BYTES: '4096', IMGROUP_MAX_BODY_BYTES: '8192' }, /IMGROUP_MAX_BODY_BYTES/],
    ['a default sync limit above the maximum', [], { ...BASE, IMGROUP_MAX_SYNC_LIMIT: '50' }, /IMGROUP_DEFAULT_SYNC_LIMIT/],
    ['a gap fill larger than a sync may fetch', [], { ...BASE, IMGROUP_MAX_SYNC_LIMIT: '100', IMGROUP_MAX_GAP_FILL: '200' }, /IMGROUP_MAX_GAP_FILL/],
    ['a gap fill timeout above the request timeout', [], { ...BASE, IMGROUP_REQUEST_TIMEOUT_MS: '1000', IMGROUP_GAP_FILL_TIMEOUT_MS: '2000' }, /IMGROUP_GAP_FILL_TIMEOUT_MS/],
    ['the same client and ops port', [], { ...BASE, IMGROUP_GATE_PORT: '9000', IMGROUP_OPS_PORT: '9000' }, /IMGROUP_OPS_PORT/],
    ['a send buffer smaller than one frame', [], { ...BASE, IMGROUP_SEND_BUFFER_BYTES: '16384' }, /IMGROUP_SEND_BUFFER_BYTES/],
    ['a port out of range', [], { ...BASE, IMGROUP_GATE_PORT: '70000' }, /IMGROUP_GATE_PORT.*maximum/],
    ['a rate that is not an integer', [], { ...BASE, IMGROUP_RATE_PER_SEC: 'fast' }, /IMGROUP_RATE_PER_SEC.*not an integer/],
    ['a rate of zero', [], { ...BASE, IMGROUP_RATE_PER_SEC: '0' }, /IMGROUP_RATE_PER_SEC.*minimum/],
    ['no sync in flight per connection', [], { ...BASE, IMGROUP_MAX_SYNCS_PER_CONNECTION: '0' }, /IMGROUP_MAX_SYNCS_PER_CONNECTION.*minimum/],
    ['more than 1000 syncs in flight per connection', [], { ...BASE, IMGROUP_MAX_SYNCS_PER_CONNECTION: '1001' }, /IMGROUP_MAX_SYNCS_PER_CONNECTION.*maximum/],
    ['a negative presence refresh', [], { ...BASE, IMGROUP_PRESENCE_REFRESH_MS: '-1' }, /IMGROUP_PRESENCE_REFRESH_MS.*minimum/],
    ['a non-boolean presence flag', [], { ...BASE, IMGROUP_PRESENCE_PUBLISH: 'maybe' }, /IMGROUP_PRESENCE_PUBLISH/],
    ['a gate name with a space', [], { ...BASE, IMGROUP_NODE_NAME: 'gate 0' }, /IMGROUP_NODE_NAME/],
    ['a drain window that does not fit the shutdown timeout', [], { ...BASE, IMGROUP_GATE_DRAIN_WINDOW_MS: '20000' }, /IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS \(25000\) cannot hold a drain of 31000 ms/],
    ['a request timeout that does not fit the shutdown timeout', [], { ...BASE, IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS: '10000' }, /IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS \(10000\).*IMGROUP_REQUEST_TIMEOUT_MS/],
    ['a negative drain window', [], { ...BASE, IMGROUP_GATE_DRAIN_WINDOW_MS: '-1' }, /IMGROUP_GATE_DRAIN_WINDOW_MS.*minimum/],
    ['an unknown flag', ['--frobnicate', '1'], BASE, /--frobnicate/],
    ['a positional argument', ['extra'], BASE, /unexpected argument/],
  ];

  it.each(rejected)('rejects %s, naming the setting', (_name, argv, env, message) => {
    expect(() => resolveGateOptions(argv, env)).toThrow(ConfigError);
    expect(() => resolveGateOptions(argv, env)).toThrow(message);
  });

  it('describes every option once with an IMGROUP_ variable, a flag and a doc sentence', () => {
    const envs = GATE_OPTIONS.map((s) => s.env);
    const flags = GATE_OPTIONS.map((s) => s.flag);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
    for (const s of GATE_OPTIONS) {
      expect(s.env).toMatch(/^IMGROUP_[A-Z0-9_]+$/);
      expect(s.doc.length).toBeGreaterThan(10);
    }
  });
});
