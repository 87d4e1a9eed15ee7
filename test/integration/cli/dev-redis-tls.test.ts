/**
 * `imgroup dev --redis-tls-dir`: the local Redis Cluster serves TLS only, with certificates made
 * by the test, and the gates and logic nodes it starts connect with TLS; a client exchanges a
 * message through them. A directory without usable files is refused (exit 2) before anything starts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';
import { eventually } from '../../support/eventually.js';
import { getFreePortRange } from '../../support/free-ports.js';
import { RawClient } from '../../support/raw-client.js';
import { LOOPBACK_SANS, makeTestCa, type TestCa } from '../../support/test-certs.js';

let ca: TestCa;
let tlsDir: string;

beforeAll(async () => {
  ca = await makeTestCa('dev');
  const cert = await ca.issue('dev-redis', LOOPBACK_SANS);
  tlsDir = join(ca.dir, 'secret');
  await mkdir(tlsDir);
  await Promise.all([copyFile(cert.certFile, join(tlsDir, 'tls.crt')), copyFile(cert.keyFile, join(tlsDir, 'tls.key')), copyFile(ca.caFile, join(tlsDir, 'ca.crt'))]);
});
afterAll(async () => {
  await ca?.remove();
});

/** Whether a plain-text PING to `port` gets PONG back (false: closed without one). */
function plainPong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let reply = '';
    socket.on('data', (d) => (reply += String(d)));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(reply.includes('PONG')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

describe('imgroup dev --redis-tls-dir', () => {
  it('refuses a directory without the files, naming the option, before starting anything', () => {
    const r = spawnSync(process.execPath, [imgroupBinPath, 'dev', '--redis-tls-dir', join(ca.dir, 'nothing-here'), '--redis-server', '/nonexistent/redis-server'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--redis-tls-dir \(IMGROUP_DEV_REDIS_TLS_DIR\): ca\.crt .*cannot be read/);
    expect(r.stdout).not.toContain('starting Redis Cluster');
  });

  it('runs Redis TLS-only and the gates and logic nodes over it: a client sends and receives', async () => {
    const redisPort = await getFreePortRange(3, { offset: 10_000 });
    const [logicPort, logicOps, gatePort, gateOps] = await Promise.all([getFreePortRange(1), getFreePortRange(1), getFreePortRange(1), getFreePortRange(1)]);
    const args = ['dev', '--redis-replicas', '0', '--logic', '1', '--gates', '1', '--redis-tls-dir', tlsDir];
    args.push('--redis-port', String(redisPort), '--logic-port', String(logicPort), '--logic-ops-port', String(logicOps), '--gate-port', String(gatePort), '--gate-ops-port', String(gateOps));
    const child = spawn(process.execPath, [imgroupBinPath, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    try {
      await eventually(
        'imgroup dev ready',
        () => {
          if (child.exitCode !== null) throw new Error(`imgroup dev exited early:\n${out}`);
          return out.includes('Ctrl-C stops every process');
        },
        { timeoutMs: 120_000, explain: () => out },
      );
      expect(out).toContain(`rediss://127.0.0.1:${redisPort}`);
      expect(await plainPong(redisPort)).toBe(false);
      const admin = /IMGROUP_ADMIN_TOKEN=(\S+)/.exec(out)?.[1];
      const token = /Sample token for user "alice" \(1 h\):\n\s+(\S+)/.exec(out)?.[1];
      const put = await fetch(`http://127.0.0.1:${gatePort}/v1/groups/g1/members`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ add: ['alice'] }),
      });
      expect(put.status).toBe(200);
      const alice = await RawClient.connect(`ws://127.0.0.1:${gatePort}/v1/ws`, token as string);
      try {
        expect(await alice.request({ type: 'send', id: 'm1', groupId: 'g1', body: 'over tls' })).toMatchObject({ type: 'sent', seq: 1 });
        expect((await alice.waitMessages('g1', 1))[0]).toMatchObject({ body: 'over tls' });
      } finally {
        alice.close();
      }
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
  }, 180_000);
});
