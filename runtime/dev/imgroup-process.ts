/**
 * One imgroup child process (`imgroup gate|logic …`) started the way a pod would start it: by
 * flags and environment only. Used by `imgroup dev`, by the integration tests, and later by the
 * test node agent that plays the kubelet.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExitInfo, LocalProcess } from './local-process.js';

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
  /** Where stdout and stderr go (appended); omitted → ignored stdout, inherited stderr. */
  logFile?: string;
  /** `http://host:port` of the ops port; `waitReady` polls `/readyz` there. */
  opsUrl: string;
  name: string;
  /** Run node with --cpu-prof, writing the profile here when the process exits. */
  cpuProfDir?: string | undefined;
}

/**
 * Node options that write the process's V8 CPU profile into `dir` when it exits (none without a
 * directory). Node refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line.
 */
export function cpuProfileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export class ImgroupProcess {
  private readonly proc: LocalProcess;

  constructor(readonly opts: ImgroupProcessOptions) {
    this.proc = new LocalProcess({ command: process.execPath, args: [...cpuProfileArgs(opts.cpuProfDir), imgroupBinPath, ...opts.args], env: opts.env, logFile: opts.logFile, ipcLifeline: true });
  }

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  get exit(): ExitInfo | null {
    return this.proc.exit;
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    void this.proc.waitExit().then((e) => listener(e.code, e.signal));
  }

  /** Poll `/readyz` until it answers 200; fails early if the process exits. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (code ${this.exit?.code}, signal ${this.exit?.signal}) before it was ready:\n${this.proc.logTail()}`);
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
  stop(graceMs = 10_000): Promise<void> {
    return this.proc.stop(graceMs);
  }

  /** SIGKILL: the process dies without cleaning up (a crashed pod). */
  kill(): Promise<void> {
    return this.proc.kill();
  }

  /** Resolves when the process exits. */
  waitExit(): Promise<ExitInfo> {
    return this.proc.waitExit();
  }
}
