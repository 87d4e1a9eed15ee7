/**
 * Consecutive free loopback ports for the cluster `imgroup bench` starts (redis-server needs its
 * port and its cluster-bus port up front, and `startDevCluster` takes base ports). Bases are drawn
 * at random below Linux's ephemeral range, probed by binding, and reserved for a while with lock
 * files in the OS temp directory — the same convention as the test suite's port helper — so a
 * benchmark and test runs on the same machine keep out of each other's way.
 */
import { closeSync, mkdirSync, openSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOW = 20_000;
const HIGH = 32_767;
const RESERVATION_MS = 10 * 60_000;
const LOCK_DIR = join(tmpdir(), 'imgroup-test-ports');
const ATTEMPTS = 200;

/** A base port p such that p … p+count-1 (and each + offset) are free; they stay reserved for ten minutes. */
export async function freePortRange(count: number, opts: { offset?: number; host?: string } = {}): Promise<number> {
  const host = opts.host ?? '127.0.0.1';
  const offset = opts.offset ?? 0;
  const high = HIGH - offset - count;
  if (count < 1 || high <= LOW) throw new RangeError(`no room for ${count} ports with offset ${offset} in ${LOW}..${HIGH}`);
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const base = LOW + Math.floor(Math.random() * (high - LOW + 1));
    const wanted = Array.from({ length: count }, (_, i) => base + i);
    if (offset) wanted.push(...wanted.map((p) => p + offset));
    if (!wanted.every(reserve)) continue;
    const ok = await Promise.all(wanted.map((p) => bindable(p, host)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports on ${host} after ${ATTEMPTS} attempts`);
}

/** Take the lock file of `port`, or one older than RESERVATION_MS. */
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
