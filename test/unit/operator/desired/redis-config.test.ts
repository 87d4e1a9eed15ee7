import { describe, expect, it } from 'vitest';
import { envReferences, expandEnvReferences } from '../../../../operator/desired/env-references.js';
import { desiredRedisStatefulSet } from '../../../../operator/desired/redis-statefulset.js';
import { type RedisNodeConfig, redisServerArgs } from '../../../../operator/desired/redis-config.js';
import { cluster, onlyContainer, resolveEnv } from './cluster-fixture.js';

/** `--name value…` arguments as a map (a value may span several arguments, as for redis-server). */
function options(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | null = null;
  for (const a of args) {
    if (a.startsWith('--')) {
      current = a.slice(2);
      out.set(current, '');
    } else if (current !== null) {
      out.set(current, `${out.get(current) ? `${out.get(current)} ` : ''}${a}`);
    }
  }
  return out;
}

const LOCAL: RedisNodeConfig = {
  bindAddress: '127.0.0.5',
  port: 6379,
  busPort: 16379,
  dir: '/tmp/node-5',
  announceIp: '127.0.0.5',
  announceHostname: null,
  preferredEndpointType: 'ip',
  password: 'secret pw',
  nodeTimeoutMs: 2000,
  appendOnly: false,
};

describe('redisServerArgs', () => {
  it('configures a cluster node, its files on its own directory', () => {
    const o = options(redisServerArgs(LOCAL));
    expect(Object.fromEntries(o)).toEqual({
      port: '6379',
      bind: '127.0.0.5',
      daemonize: 'no',
      dir: '/tmp/node-5',
      'cluster-enabled': 'yes',
      'cluster-config-file': '/tmp/node-5/nodes.conf',
      'cluster-port': '16379',
      'cluster-node-timeout': '2000',
      'cluster-announce-ip': '127.0.0.5',
      'cluster-preferred-endpoint-type': 'ip',
      appendonly: 'no',
      requirepass: 'secret pw',
      masterauth: 'secret pw',
    });
  });

  it('keeps a password with spaces in one argument', () => {
    const args = redisServerArgs(LOCAL);
    expect(args[args.indexOf('--requirepass') + 1]).toBe('secret pw');
  });

  it('announces a hostname when given one', () => {
    const o = options(redisServerArgs({ ...LOCAL, announceHostname: 'n5.local', preferredEndpointType: 'hostname' }));
    expect(o.get('cluster-announce-hostname')).toBe('n5.local');
    expect(o.get('cluster-preferred-endpoint-type')).toBe('hostname');
  });

  it('refuses hostname endpoints without a hostname', () => {
    expect(() => redisServerArgs({ ...LOCAL, preferredEndpointType: 'hostname' })).toThrow(RangeError);
  });
});

describe('the Redis pod\'s arguments, expanded as the kubelet does', () => {
  const main = onlyContainer(desiredRedisStatefulSet(cluster()).spec?.template.spec?.containers);
  const env = resolveEnv(main.env ?? [], 'chat-redis-4', '10.1.2.3');
  const args = (main.args ?? []).map((a) => expandEnvReferences(a, env));

  it('refer only to env vars the container defines', () => {
    const defined = new Set((main.env ?? []).map((e) => e.name));
    const referenced = (main.args ?? []).flatMap(envReferences);
    expect(referenced.length).toBeGreaterThan(0);
    for (const name of referenced) expect(defined.has(name), name).toBe(true);
  });

  it('are the node config of that pod: pod IP, stable hostname, password, volume', () => {
    expect(args).toEqual(
      redisServerArgs({
        bindAddress: '10.1.2.3',
        port: 6379,
        busPort: 16379,
        dir: '/data',
        announceIp: '10.1.2.3',
        announceHostname: 'chat-redis-4.chat-redis.prod.svc',
        preferredEndpointType: 'hostname',
        password: 'redis-password-value',
        nodeTimeoutMs: 5000,
        appendOnly: true,
      }),
    );
  });

  it('keep an append-only file, fsynced every second (set explicitly, not left to the image)', () => {
    expect(options(args).get('appendonly')).toBe('yes');
    expect(options(args).get('appendfsync')).toBe('everysec');
  });

  it('keep nodes.conf on the pod\'s volume', () => {
    const dataMount = main.volumeMounts?.find((m) => m.name === 'data')?.mountPath as string;
    expect(options(args).get('cluster-config-file')?.startsWith(`${dataMount}/`)).toBe(true);
    expect(options(args).get('dir')).toBe(dataMount);
  });
});

describe('expandEnvReferences', () => {
  it.each<[string, Record<string, string>, string]>([
    ['$(A)', { A: '1' }, '1'],
    ['x-$(A)-$(B)', { A: '1', B: '2' }, 'x-1-2'],
    ['$(MISSING)', {}, '$(MISSING)'],
    ['$$(A)', { A: '1' }, '$(A)'],
    ['$$', {}, '$'],
    ['$A', { A: '1' }, '$A'],
    ['$(A', { A: '1' }, '$(A'],
    ['$(__proto__)', {}, '$(__proto__)'],
  ])('%s', (text, env, out) => {
    expect(expandEnvReferences(text, env)).toBe(out);
  });
});
