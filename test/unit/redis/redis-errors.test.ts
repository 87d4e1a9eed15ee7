/**
 * Which Redis errors are transient (retried, then UNAVAILABLE), which are other Redis failures
 * (UNAVAILABLE at once) and which are ours (INTERNAL) — with the error classes ioredis itself
 * throws, built the way ioredis builds them.
 */
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedisError, isRetryableRedisError, redisErrorKind } from '../../../runtime/redis/redis-errors.js';
import { failureOf } from '../../../runtime/logic/request-failure.js';

const require = createRequire(import.meta.url);
const { MaxRetriesPerRequestError } = require('ioredis/built/errors/index.js') as { MaxRetriesPerRequestError: new (n: number) => Error };
const ClusterAllFailedError = (require('ioredis/built/errors/ClusterAllFailedError.js') as { default: new (msg: string, last: Error | null) => Error }).default;
const { AbortError, ParserError } = require('redis-errors') as { AbortError: new (msg: string) => Error; ParserError: new (msg: string, buffer: Buffer, offset: number) => Error };

const reply = (msg: string): Error => new ReplyError(msg) as Error;
/** Exactly how ioredis's Cluster.handleError gives up once maxRedirections are spent. */
const tooManyRedirections = (last: Error): Error => new Error('Too many Cluster redirections. Last error: ' + last);
const sysError = (code: string, msg: string): Error => Object.assign(new Error(msg), { code, errno: -1, syscall: 'connect' });

describe('redis error classification', () => {
  it.each<[string, Error, string]>([
    // failover: the master is gone, the cluster votes, the replica takes over
    ['MOVED to the promoted replica', reply('MOVED 3999 127.0.0.1:7004'), 'moved'],
    ['ASK during a migration', reply('ASK 3999 127.0.0.1:7001'), 'ask'],
    ['TRYAGAIN (multi-key during a migration)', reply('TRYAGAIN Multiple keys request during rehashing of slot'), 'tryagain'],
    ['CLUSTERDOWN while a master is failed', reply('CLUSTERDOWN The cluster is down'), 'clusterdown'],
    ['CLUSTERDOWN for an unbound slot', reply('CLUSTERDOWN Hash slot not served'), 'clusterdown'],
    ['LOADING after a restart', reply('LOADING Redis is loading the dataset in memory'), 'loading'],
    ['READONLY from a demoted master', reply("READONLY You can't write against a read only replica."), 'readonly'],
    ['MASTERDOWN from a replica', reply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), 'masterdown'],
    ['BUSY running a script', reply('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.'), 'busy'],
    ['too many redirections after MOVED', tooManyRedirections(reply('MOVED 3999 127.0.0.1:7004')), 'moved'],
    ['too many redirections after CLUSTERDOWN', tooManyRedirections(reply('CLUSTERDOWN The cluster is down')), 'clusterdown'],
    ['too many redirections after a lost connection', tooManyRedirections(new Error('Connection is closed.')), 'connection'],
    ['too many redirections after TRYAGAIN', tooManyRedirections(reply('TRYAGAIN Multiple keys request during rehashing of slot')), 'tryagain'],
    ['a lost connection', new Error('Connection is closed.'), 'connection'],
    ['a command timeout', new Error('Command timed out'), 'timeout'],
    ['max retries per request', new MaxRetriesPerRequestError(2), 'connection'],
    ['slot map refresh failed everywhere', new ClusterAllFailedError('Failed to refresh slots cache.', null), 'connection'],
    ['no startup node', new Error('None of startup nodes is available'), 'connection'],
    ['cluster not ready (offline queue off)', new Error("Cluster isn't ready and enableOfflineQueue options is false"), 'connection'],
    ['stream not writeable', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'connection'],
    ['the store waiting for the slot map', new Error('Redis Cluster connection not ready after 2000 ms'), 'connection'],
    ['connection refused', sysError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:7000'), 'connection'],
    ['connection reset', sysError('ECONNRESET', 'read ECONNRESET'), 'connection'],
    ['broken pipe', sysError('EPIPE', 'write EPIPE'), 'connection'],
  ])('%s is a transient Redis failure (%s)', (_name, err, kind) => {
    expect(redisErrorKind(err)).toBe(kind);
    expect(isRetryableRedisError(err)).toBe(true);
    expect(isRedisError(err)).toBe(true);
    expect(failureOf(err).code).toBe('UNAVAILABLE');
  });

  it.each<[string, Error, string]>([
    ['NOSCRIPT (loaded where scripts are sent)', reply('NOSCRIPT No matching script. Please use EVAL.'), 'noscript'],
    ['OOM', reply('OOM command not allowed when used memory > maxmemory.'), 'reply'],
    ['WRONGTYPE', reply('WRONGTYPE Operation against a key holding the wrong kind of value'), 'reply'],
    ['a script error', reply('ERR Error running script (call to f_1): @user_script:1: bad'), 'reply'],
    ['the cluster closed by us', new AbortError('Cluster is ended.'), 'reply'],
    ['a parser error (the command may or may not have run)', new ParserError('Protocol error, got "H" as reply type byte', Buffer.from('H'), 0), 'reply'],
  ])('%s is a Redis failure that is not retried (%s)', (_name, err, kind) => {
    expect(redisErrorKind(err)).toBe(kind);
    expect(isRetryableRedisError(err)).toBe(false);
    expect(isRedisError(err)).toBe(true);
    expect(failureOf(err).code).toBe('UNAVAILABLE');
  });

  it.each<[string, unknown]>([
    ['a TypeError that mentions connect', new TypeError("Cannot read properties of undefined (reading 'connect')")],
    ['a RangeError that says timed out', new RangeError('timed out of range')],
    ['a malformed script reply', new Error('log_append returned an unexpected reply')],
    ['a string', 'Connection is closed.'],
    ['undefined', undefined],
  ])('%s is ours: not retried, INTERNAL', (_name, err) => {
    expect(isRetryableRedisError(err)).toBe(false);
    expect(isRedisError(err)).toBe(false);
    expect(failureOf(err).code).toBe('INTERNAL');
  });
});

describe('errors from a real ioredis client', () => {
  // A TCP server that accepts and never answers (or hangs up): ioredis's own timeout and closed-connection errors.
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    port = (silent.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });

  it('classifies a command timeout as transient', async () => {
    const redis = new Redis({ port, host: '127.0.0.1', commandTimeout: 50, enableReadyCheck: false, maxRetriesPerRequest: 0, lazyConnect: true });
    redis.on('error', () => undefined);
    try {
      const err = await redis.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(redisErrorKind(err)).toBe('timeout');
      expect(isRetryableRedisError(err)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('classifies a command whose connection the server closed as transient', async () => {
    // As a cluster node connection is made: no reconnect (ioredis refreshes the slot map instead).
    const redis = new Redis({ port, host: '127.0.0.1', enableReadyCheck: false, retryStrategy: () => null, lazyConnect: true });
    redis.on('error', () => undefined);
    const pending = redis.get('k').catch((e: unknown) => e);
    await once(redis, 'connect');
    for (const s of sockets) s.destroy();
    const err = await pending;
    expect(err).toBeInstanceOf(Error);
    expect(isRetryableRedisError(err)).toBe(true);
    expect(failureOf(err).code).toBe('UNAVAILABLE');
    redis.disconnect();
  });
});
