/**
 * `imgroup dev` (`make run`) and the IMGROUP_* settings in its environment: runtime settings of
 * gates and logic nodes reach every child; settings the local cluster owns are refused by name
 * instead of being silently overridden; bad values are refused before anything starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { getFreePortRange } from '../../support/free-ports.js';
import { RawClient } from '../../support/raw-client.js';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [imgroupBinPath, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8' });

describe('imgroup dev and IMGROUP_* settings', () => {
  it.each([
    ['IMGROUP_GATE_PORT', '1234', /IMGROUP_GATE_PORT.*--gate-port/],
    ['IMGROUP_REDIS_SEEDS', '10.0.0.1:7000', /IMGROUP_REDIS_SEEDS.*--redis-port/],
    ['IMGROUP_MODE', 'production', /IMGROUP_MODE.*development mode/],
    ['IMGROUP_REDIS_TLS', 'true', /IMGROUP_REDIS_TLS is set.*--redis-tls-dir/],
    ['IMGROUP_MEMBERSHIP_FILE', '/tmp/m.json', /IMGROUP_MEMBERSHIP_FILE/],
    ['IMGROUP_RATE_PER_SEC', 'fast', /IMGROUP_RATE_PER_SEC.*not an integer/],
    ['IMGROUP_REPLAY_LIMIT', '0', /IMGROUP_REPLAY_LIMIT.*minimum/],
  ])('refuses %s=%s with exit 2 and a message naming it, before starting anything', (name, value, message) => {
    // A redis-server that does not exist: were the setting not refused, dev would fail later, differently.
    const r = run(['dev', '--redis-server', '/nonexistent/redis-server'], { [name]: value });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toContain('starting Redis Cluster');
  });

  it('says in --help that runtime settings are passed on and which ones are refused', () => {
    const r = run(['dev', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/IMGROUP_\* setting of `imgroup gate` and `imgroup logic`[\s\S]*passed to each gate and logic node/);
    expect(r.stdout).toContain('IMGROUP_GATE_PORT');
  });

  it('passes a gate setting and a logic setting to the children: their behaviour shows it', async () => {
    const redisPort = await getFreePortRange(3, { offset: 10_000 });
    const [logicPort, logicOps, gatePort, gateOps] = await Promise.all([getFreePortRange(1), getFreePortRange(1), getFreePortRange(1), getFreePortRange(1)]);
    const args = ['dev', '--redis-replicas', '0', '--logic', '1', '--gates', '1'];
    args.push('--redis-port', String(redisPort), '--logic-port', String(logicPort), '--logic-ops-port', String(logicOps), '--gate-port', String(gatePort), '--gate-ops-port', String(gateOps));
    const child = spawn(process.execPath, [imgroupBinPath, ...args], {
      // A send burst of 1 (gate) and groups of at most 1 member (logic).
      env: { PATH: process.env.PATH, HOME: process.env.HOME, IMGROUP_RATE_PER_SEC: '1', IMGROUP_RATE_BURST: '1', IMGROUP_MAX_MEMBERS_PER_GROUP: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    try {
      await eventually(`imgroup dev ready:\n${out}`, () => {
        if (child.exitCode !== null) throw new Error(`imgroup dev exited early:\n${out}`);
        return out.includes('Ctrl-C stops every process');
      }, 120_000);
      const admin = /IMGROUP_ADMIN_TOKEN=(\S+)/.exec(out)?.[1];
      const token = /Sample token for user "alice" \(1 h\):\n\s+(\S+)/.exec(out)?.[1];

      const put = await fetch(`http://127.0.0.1:${gatePort}/v1/groups/g1/members`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ add: ['alice', 'bob'] }),
      });
      expect(put.status).toBe(409);
      expect(await put.json()).toMatchObject({ error: { code: ErrorCode.GROUP_FULL } });

      const alice = await RawClient.connect(`ws://127.0.0.1:${gatePort}/v1/ws`, token as string);
      alice.send({ type: 'send', id: 'a', groupId: 'g1', body: 'one' });
      alice.send({ type: 'send', id: 'b', groupId: 'g1', body: 'two' });
      expect(await alice.next((f) => f.id === 'b')).toMatchObject({ type: 'error', code: ErrorCode.RATE_LIMITED });
      alice.close();
      expect(out).toContain('passing to every gate and logic node: IMGROUP_RATE_PER_SEC=1 IMGROUP_RATE_BURST=1 IMGROUP_MAX_MEMBERS_PER_GROUP=1');
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
  });
});
