import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import { startLocalRedisCluster } from '../../../runtime/dev/local-redis-cluster.js';
import { RedisServerProcess } from '../../../runtime/dev/redis-server-process.js';
import { getFreePorts } from '../../support/free-ports.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgroup-local-redis-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const clientOf = (seeds: string[]) => new Cluster(seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));

describe('RedisServerProcess', () => {
  it('starts in cluster mode on the given ports, logs to its directory, and stops on SIGTERM', async () => {
    const [port, busPort] = (await getFreePorts(2)) as [number, number];
    const p = await RedisServerProcess.start({ port, busPort, dir: join(dir, 'one'), clusterNodeTimeoutMs: 1500 });
    expect(p.pid).toBeGreaterThan(0);
    expect(p.seed).toBe(`127.0.0.1:${port}`);
    expect(p.running).toBe(true);
    const admin = new RedisClusterAdmin();
    const me = await admin.myself({ host: '127.0.0.1', port });
    expect(me).toMatchObject({ port, busPort, role: 'master' });
    expect((await admin.clusterInfo({ host: '127.0.0.1', port })).knownNodes).toBe(1);
    await admin.close();
    await p.stop();
    expect(p.running).toBe(false);
    expect((await p.waitExit()).code).toBe(0);
    expect(await readFile(p.logFile, 'utf8')).toMatch(/Ready to accept connections/);
  });

  it('dies at once on kill()', async () => {
    const [port, busPort] = (await getFreePorts(2)) as [number, number];
    const p = await RedisServerProcess.start({ port, busPort, dir: join(dir, 'killed') });
    await p.kill();
    expect((await p.waitExit()).signal).toBe('SIGKILL');
  });

  it('requires the password it was given', async () => {
    const [port, busPort] = (await getFreePorts(2)) as [number, number];
    const p = await RedisServerProcess.start({ port, busPort, dir: join(dir, 'auth'), password: 's3cret' });
    try {
      const { Redis } = await import('ioredis');
      const anon = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
      anon.on('error', () => undefined);
      await expect(anon.ping()).rejects.toThrow(/NOAUTH/);
      anon.disconnect();
    } finally {
      await p.stop();
    }
  });

  it.each([
    ['a missing binary', { redisServer: '/nonexistent/redis-server' }, /could not be started/],
    ['port 0', { port: 0 }, /port 0 is not 1..65535/],
    ['equal client and bus ports', { busPort: -1 }, /both/],
  ])('refuses to start with %s', async (_name, override, message) => {
    const [port, busPort] = (await getFreePorts(2)) as [number, number];
    const opts = { port, busPort, dir: join(dir, 'bad'), ...override };
    if (opts.busPort === -1) opts.busPort = port;
    await expect(RedisServerProcess.start(opts)).rejects.toThrow(message);
  });

  it('fails with the log tail when its port is taken', async () => {
    const [port, busPort] = (await getFreePorts(2)) as [number, number];
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(RedisServerProcess.start({ port, busPort, dir: join(dir, 'taken') })).rejects.toThrow(/Address already in use/);
    } finally {
      squatter.close();
    }
  });
});

describe('startLocalRedisCluster', () => {
  it('comes back after a restart in the same directory without being formed again, data kept', async () => {
    const ports = await getFreePorts(8);
    const opts = { masters: 2, replicasPerMaster: 1, ports: ports.slice(0, 4), busPorts: ports.slice(4), dir: join(dir, 'persistent'), appendOnly: true, clusterNodeTimeoutMs: 2000 };
    const first = await startLocalRedisCluster(opts);
    const ids = await Promise.all(first.nodes.map(async (n) => (await first.admin.myself({ host: '127.0.0.1', port: n.addr.port })).id));
    const client = clientOf(first.seeds);
    await client.set('survives', 'restart');
    client.disconnect();
    await first.stop();

    const second = await startLocalRedisCluster(opts);
    try {
      expect(second.seeds).toEqual(first.seeds);
      const again = await Promise.all(second.nodes.map(async (n) => (await second.admin.myself({ host: '127.0.0.1', port: n.addr.port })).id));
      expect(again).toEqual(ids);
      const c2 = clientOf(second.seeds);
      expect(await c2.get('survives')).toBe('restart');
      c2.disconnect();
    } finally {
      await second.stop();
    }
  });

  it('refuses to start over a directory holding a different cluster, leaving it intact', async () => {
    const ports = await getFreePorts(8);
    const opts = { masters: 2, replicasPerMaster: 1, ports: ports.slice(0, 4), busPorts: ports.slice(4), dir: join(dir, 'other'), clusterNodeTimeoutMs: 2000 };
    const first = await startLocalRedisCluster(opts);
    await first.stop();
    // Same nodes, but now asked for one master with three replicas: not the cluster on disk.
    await expect(startLocalRedisCluster({ ...opts, masters: 1, replicasPerMaster: 3 })).rejects.toThrow(/holds a Redis Cluster of 2 masters and 4 nodes, not the 1 masters and 4 nodes/);
    const second = await startLocalRedisCluster(opts);
    try {
      expect((await second.admin.health(second.nodes.map((n) => ({ host: n.addr.host, port: n.addr.port })))).healthy).toBe(true);
    } finally {
      await second.stop();
    }
  });

  it.each([
    ['too few ports', { ports: [7000] }, /need 6 ports/],
    ['a port used twice', { ports: [1, 2, 3, 4, 5, 6], busPorts: [6, 7, 8, 9, 10, 11] }, /must all differ/],
    ['zero masters', { masters: 0 }, /masters must be/],
  ])('rejects %s before starting anything', async (_name, override, message) => {
    await expect(startLocalRedisCluster({ dir: join(dir, 'never'), ...override })).rejects.toThrow(message);
  });
});
