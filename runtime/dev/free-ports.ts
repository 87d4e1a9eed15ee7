/**
 * Free TCP ports on loopback for servers that cannot listen on port 0 themselves (redis-server
 * needs its port and its cluster-bus port up front).
 *
 * Concurrent callers — other test files, other test runs on the same machine — are kept apart
 * as well as a probe allows:
 *   - ports are drawn at random from 20000..32767, below Linux's ephemeral range (32768+), so
 *     the OS does not hand them to outgoing connections or to servers listening on port 0;
 *   - each port must actually be bindable on the host;
 *   - each handed-out port is reserved for `RESERVATION_MS` by a lock file in the OS temp
 *     directory created with O_EXCL, which other processes honour; stale locks are taken over.
 * A port can still be taken between the probe and the real bind; callers that start servers
 * should retry with new ports when that happens (startRedisCluster does).
 */
import { mkdirSync, openSync, closeSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOW = 20_000;
const HIGH = 32_767;
const RESERVATION_MS = 10 * 60_000;
const LOCK_DIR = join(tmpdir(), 'imgroup-test-ports');

export async function getFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`count must be 1..1000, got ${count}`);
  mkdirSync(LOCK_DIR, { recursive: true });
  const ports: number[] = [];
  const maxAttempts = count * 50;
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt >= maxAttempts) throw new Error(`found only ${ports.length} of ${count} free ports on ${host} after ${maxAttempts} attempts`);
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (ports.includes(port) || !reserve(port)) continue;
    if (await bindable(port, host)) ports.push(port);
  }
  return ports;
}

/** Take the lock file of `port`, or a lock older than RESERVATION_MS. */
function reserve(port: number): boolean {
  const file = join(LOCK_DIR, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
      const now = new Date();
      utimesSync(file, now, now);
      return true;
    } catch {
      return false;
    }
  }
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports (for commands that take a base port, like `imgroup dev`),
 * reserved like getFreePorts. With `offset`, the ports `p + offset` must be free too (Redis's
 * cluster bus); the base is then chosen so that those also stay below the ephemeral range.
 */
export async function getFreePortRange(count: number, opts: { offset?: number; host?: string } = {}): Promise<number> {
  const host = opts.host ?? '127.0.0.1';
  const offset = opts.offset ?? 0;
  const high = HIGH - offset - count;
  if (count < 1 || high <= LOW) throw new RangeError(`no room for ${count} ports with offset ${offset} in ${LOW}..${HIGH}`);
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOW + Math.floor(Math.random() * (high - LOW + 1));
    const wanted = Array.from({ length: count }, (_, i) => base + i);
    if (offset) wanted.push(...wanted.map((p) => p + offset));
    if (!wanted.every(reserve)) continue;
    const ok = await Promise.all(wanted.map((p) => bindable(p, host)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports on ${host}`);
}
