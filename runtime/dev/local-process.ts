/**
 * A supervised local child process: spawned with its output appended to a log file, observed
 * until it exits, stopped gracefully (SIGTERM, then SIGKILL) or killed outright, and never left
 * behind by a parent that exits. The building block for redis-server and imgroup children, and
 * for the later test node agent that runs each pod as a local process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LocalProcessOptions {
  command: string;
  args: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** stdout and stderr are appended here; omitted → ignored stdout, inherited stderr. */
  logFile?: string;
  /**
   * Give the child an IPC channel that closes when this process dies, however it dies (even by
   * SIGKILL, when no exit hook runs). `imgroup` processes shut down gracefully when it closes.
   */
  ipcLifeline?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children must not outlive a crashed parent that holds their ports: SIGKILL them on exit. */
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export class LocalProcess {
  readonly child: ChildProcess;
  private exitInfo: ExitInfo | null = null;
  private failure: Error | null = null;
  private readonly exited: Promise<void>;

  constructor(readonly opts: LocalProcessOptions) {
    let logFd: number | undefined;
    if (opts.logFile) {
      mkdirSync(dirname(opts.logFile), { recursive: true });
      logFd = openSync(opts.logFile, 'a');
    }
    try {
      this.child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env ? ({ ...opts.env } as NodeJS.ProcessEnv) : process.env,
        stdio: opts.ipcLifeline ? ['ignore', logFd ?? 'ignore', logFd ?? 'inherit', 'ipc'] : ['ignore', logFd ?? 'ignore', logFd ?? 'inherit'],
      });
    } finally {
      if (logFd !== undefined) closeSync(logFd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.failure = err;
        this.exitInfo ??= { code: null, signal: null };
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
    });
    killOnExit(this.child);
    // The lifeline itself must not keep this process alive (the child handle decides that).
    this.child.channel?.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  /** Set when the process could not be spawned at all (e.g. the binary is missing). */
  get spawnError(): Error | null {
    return this.failure;
  }

  /** Resolves when the process has exited (or could not be spawned). */
  waitExit(): Promise<ExitInfo> {
    return this.exited.then(() => this.exitInfo as ExitInfo);
  }

  /** A promise that settles when the process exits: for races against readiness probes. */
  get exitedPromise(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: the process dies at once, without cleaning up (a crash). */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last `lines` lines of the log file, for error messages. */
  logTail(lines = 15): string {
    if (!this.opts.logFile) return '(no log file)';
    try {
      return readFileSync(this.opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
