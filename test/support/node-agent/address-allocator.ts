/**
 * Pod IPs for the test node agent: each running pod gets a loopback address of its own,
 * 127.0.0.<x> with x ≥ 2 (127.0.0.1 stays the host's), so every pod can listen on its
 * containers' fixed ports (Redis on 6379) as it would in its own network namespace.
 *
 * The default allocator hands addresses out round-robin (the address after the last one given),
 * so a restarted pod gets a new address as soon as it asks for one before releasing its old one,
 * and freshly released addresses are not reused at once. An address is given only when it is
 *   - not held by a pod of this process (any agent: the allocator is shared by default),
 *   - not held by another process: a lock file per address in the OS temp directory, created
 *     with O_EXCL and holding the holder's pid (a dead holder's lock is taken over), and
 *   - bindable on every TCP port the pod declares (something else may listen there).
 * Linux routes all of 127.0.0.0/8 to the loopback interface, so nothing needs configuring.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AddressRequest {
  /** `namespace/name` of the pod, for error messages. */
  pod: string;
  /** TCP ports the pod's containers declare: the address must have them free. */
  ports: readonly number[];
  /** Addresses the caller will not accept (e.g. its current one, for "new address on restart"). */
  avoid?: readonly string[];
}

/** How pods get their IPs; tests may plug in their own (e.g. to force a given address). */
export interface AddressAllocator {
  allocate(req: AddressRequest): Promise<string>;
  release(address: string): void;
}

export interface LoopbackAllocatorOptions {
  /** First host number x of 127.0.0.<x>. Default 2. */
  first?: number;
  /** Last host number. Default 254. */
  last?: number;
  /** Directory of the cross-process lock files. Default <tmp>/imgroup-test-addresses. */
  lockDir?: string;
}

const DEFAULT_LOCK_DIR = join(tmpdir(), 'imgroup-test-addresses');

export class LoopbackAllocator implements AddressAllocator {
  private readonly first: number;
  private readonly last: number;
  private readonly lockDir: string;
  private readonly held = new Set<string>();
  private cursor: number;

  constructor(opts: LoopbackAllocatorOptions = {}) {
    this.first = opts.first ?? 2;
    this.last = opts.last ?? 254;
    if (!Number.isInteger(this.first) || !Number.isInteger(this.last) || this.first < 2 || this.last > 254 || this.first > this.last) {
      throw new RangeError(`loopback allocator range ${this.first}..${this.last} must lie within 2..254`);
    }
    this.lockDir = opts.lockDir ?? DEFAULT_LOCK_DIR;
    // Start somewhere random so that concurrent test processes seldom probe the same addresses.
    this.cursor = this.first + Math.floor(Math.random() * (this.last - this.first + 1));
  }

  get inUse(): readonly string[] {
    return [...this.held];
  }

  async allocate(req: AddressRequest): Promise<string> {
    mkdirSync(this.lockDir, { recursive: true });
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const x = this.first + ((this.cursor - this.first + i) % size);
      const address = `127.0.0.${x}`;
      if (this.held.has(address) || req.avoid?.includes(address)) continue;
      if (!this.lock(address)) continue;
      if (!(await allBindable(address, req.ports))) {
        this.unlock(address);
        continue;
      }
      this.held.add(address);
      this.cursor = x + 1 > this.last ? this.first : x + 1;
      return address;
    }
    throw new Error(`no free loopback address in 127.0.0.${this.first}..${this.last} for pod ${req.pod} (ports ${req.ports.join(',') || 'none'})`);
  }

  release(address: string): void {
    if (!this.held.delete(address)) return;
    this.unlock(address);
  }

  private lockFile(address: string): string {
    return join(this.lockDir, address);
  }

  /** Take the address's lock file, or the lock of a process that no longer exists. */
  private lock(address: string): boolean {
    const file = this.lockFile(address);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch {
        const holder = readHolder(file);
        if (holder === process.pid || (holder !== null && processAlive(holder))) return false;
        // A dead holder (or a half-written lock): take it over once.
        rmSync(file, { force: true });
      }
    }
    return false;
  }

  private unlock(address: string): void {
    const file = this.lockFile(address);
    if (readHolder(file) === process.pid) rmSync(file, { force: true });
  }
}

function readHolder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function allBindable(address: string, ports: readonly number[]): Promise<boolean> {
  for (const port of ports) if (!(await bindable(address, port))) return false;
  return true;
}

function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The allocator every agent of this process shares unless given its own. */
export const sharedLoopbackAllocator: AddressAllocator = new LoopbackAllocator();
