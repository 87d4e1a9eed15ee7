/**
 * The `imgroup` executable as users run it: `token`, `dev` (what `make run` does) and bad input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';
import { eventually } from '../../support/eventually.js';
import { getFreePortRange } from '../../support/free-ports.js';
import { RawClient } from '../../support/raw-client.js';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [imgroupBinPath, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });

describe('imgroup token', () => {
  it('prints an HS256 token for the user that expires after --ttl', async () => {
    const secret = 'a-test-secret-of-enough-length-123456';
    const before = Math.floor(Date.now() / 1000);
    const r = run(['token', 'alice', '--ttl', '120'], { IMGROUP_JWT_SECRET: secret });
    const after = Math.floor(Date.now() / 1000);
    expect(r.status).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('alice');
    // Signed between `before` and `after`, however long that took.
    expect(payload.exp).toBeGreaterThanOrEqual(before + 120);
    expect(payload.exp).toBeLessThanOrEqual(after + 120);
  });

  it.each([
    [['token', 'alice'], {}, /IMGROUP_JWT_SECRET/],
    [['token'], { IMGROUP_JWT_SECRET: 's' }, /usage: imgroup token/],
    [['token', 'alice', '--ttl', '0'], { IMGROUP_JWT_SECRET: 's' }, /--ttl.*minimum/],
    [['token', 'bad/user'], { IMGROUP_JWT_SECRET: 's' }, /not valid/],
    [['fly'], {}, /unknown command "fly"/],
    [['gate', '--port', 'many'], {}, /--port.*not an integer/],
    [['logic', '--no-such-flag'], {}, /unknown flag --no-such-flag/],
    [['gate', '--mode', 'production'], {}, /must be set in production mode/],
    [['gate', '--membership-configmap', 'ns/cm', '--kubeconfig', '/nonexistent/kubeconfig', '--redis-seeds', '127.0.0.1:1', '--port', '0', '--ops-port', '0'], {}, /IMGROUP_KUBECONFIG.*cannot be loaded/],
    [['operator', '--kubeconfig', '/nonexistent/kubeconfig', '--ops-port', '0'], {}, /IMGROUP_KUBECONFIG.*cannot be loaded/],
  ])('%j exits 2 naming the problem', (args, env, message) => {
    const r = run(args, env as Record<string, string>);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('imgroup dev', () => {
  it('starts Redis Cluster, logic nodes and gates, serves clients, and cleans up on SIGINT', async () => {
    const redisPort = await getFreePortRange(6, { offset: 10_000 });
    const logicPort = await getFreePortRange(2);
    const logicOps = await getFreePortRange(2);
    const gatePort = await getFreePortRange(2);
    const gateOps = await getFreePortRange(2);
    const child = spawn(
      process.execPath,
      [imgroupBinPath, 'dev', '--redis-port', String(redisPort), '--logic-port', String(logicPort), '--logic-ops-port', String(logicOps), '--gate-port', String(gatePort), '--gate-ops-port', String(gateOps)],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    try {
      await eventually('imgroup dev ready', () => {
        if (child.exitCode !== null) throw new Error(`imgroup dev exited early:\n${out}`);
        return out.includes('Ctrl-C stops every process');
      }, { timeoutMs: 90_000, explain: () => out });
      const secret = /IMGROUP_JWT_SECRET=(\S+)/.exec(out)?.[1];
      const admin = /IMGROUP_ADMIN_TOKEN=(\S+)/.exec(out)?.[1];
      const dataDir = /membership file: (\S+)\/membership\.json/.exec(out)?.[1];
      const token = /Sample token for user "alice" \(1 h\):\n\s+(\S+)/.exec(out)?.[1];
      expect(secret && admin && dataDir && token).toBeTruthy();
      expect(out).toContain(`ws://127.0.0.1:${gatePort}/v1/ws`);
      expect(out).toContain('curl');

      // The printed curl example works, and the sample token connects.
      const put = await fetch(`http://127.0.0.1:${gatePort + 1}/v1/groups/g1/members`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ add: ['alice', 'bob'] }),
      });
      expect(await put.json()).toEqual({ groupId: 'g1', members: 2 });
      const alice = await RawClient.connect(`ws://127.0.0.1:${gatePort}/v1/ws`, token as string);
      const sent = await alice.request({ type: 'send', id: 'hello', groupId: 'g1', body: 'hi' });
      expect(sent).toMatchObject({ type: 'sent', seq: 1 });
      alice.close();

      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      expect(existsSync(dataDir as string)).toBe(false);
      for (const p of [redisPort, redisPort + 5, logicPort, gatePort, gatePort + 1, gateOps]) expect(await portOpen(p)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
