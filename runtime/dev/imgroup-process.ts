/**
 * One imgroup child process (`imgroup gate|logic …`) started the way a pod would start it: by
 * flags and environment only. Used by `imgroup dev`, by the integration tests, and later by the
 * test node agent that plays the kubelet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's executable, bin/imgroup.js at the package root. This module runs from
 * dist/runtime/dev/ (built) or runtime/dev/ (tests run the sources), so look upwards for it.
 */
export const imgroupBinPath = findBin(dirname(fileURLToPath(import.meta.url)));

function findBin(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'bin', 'imgroup.js');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`bin/imgroup.js not found above ${from}`);
  }
}

export interface ImgroupProcessOptions {
  /** Subcommand and flags, e.g. ['gate', '--port', '8080']. */
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Where stdout and stderr go (appended); omitted → inherited stderr, ignored stdout. */
  logFile?: string;
  /** `http://host:port` of the ops port; `waitReady` polls `/readyz` there. */
  opsUrl: string;
  name: string;
}

export class ImgroupProcess {
  readonly child: ChildProcess;
  private readonly log: WriteStream | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly opts: ImgroupProcessOptions) {
    this.log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    this.child = spawn(process.execPath, [imgroupBinPath, ...opts.args], {
      env: { ...opts.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', this.log ? 'pipe' : 'ignore', this.log ? 'pipe' : 'inherit'],
    });
    if (this.log) {
      this.child.stdout?.pipe(this.log, { end: false });
      this.child.stderr?.pipe(this.log, { end: false });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.log?.end();
        resolve();
      });
    });
  }

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitInfo;
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    void this.exited.then(() => listener(this.exitInfo?.code ?? null, this.exitInfo?.signal ?? null));
  }

  /** Poll `/readyz` until it answers 200; fails early if the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (code ${this.exitInfo?.code}, signal ${this.exitInfo?.signal}) before it was ready`);
      try {
        const res = await fetch(`${this.opts.opsUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        last = `${res.status} ${(await res.text()).trim()}`;
        if (res.ok) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms: ${last}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: the process dies without cleaning up (a crashed pod). */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Resolves when the process exits. */
  async waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.exited;
    return this.exitInfo as { code: number | null; signal: NodeJS.Signals | null };
  }
}
