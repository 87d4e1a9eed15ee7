/**
 * The client worker processes of one benchmark run: forked with an IPC channel, given one command
 * at a time (the same or a per-worker command to each), with their unasked progress summed for
 * the progress line. A worker that dies or reports an error fails the command in flight, naming
 * the worker and the tail of its stderr.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { forkedModulePath } from './forked-module.js';
import { cpuProfileArgs } from '../dev/imgroup-process.js';
import type { CpuReport, Progress, WorkerCommand, WorkerMessage, WorkerSettings } from './worker-protocol.js';

/** Bytes of a worker's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 4096;

interface Waiter {
  type: WorkerMessage['type'];
  resolve: (m: WorkerMessage) => void;
  reject: (err: Error) => void;
}

class WorkerHandle {
  progress: Progress | null = null;
  private waiter: Waiter | null = null;
  private stderrTail = '';
  private exited: string | null = null;
  readonly exit: Promise<void>;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.on('message', (m) => this.onMessage(m as WorkerMessage));
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = `exited (code ${code}, signal ${signal})`;
        this.fail(new Error(`client worker ${index} ${this.exited}${this.stderrTail ? `:\n${this.stderrTail.trim()}` : ''}`));
        resolve();
      });
      child.once('error', (err) => {
        this.exited = err.message;
        this.fail(new Error(`client worker ${index} failed: ${err.message}`));
        resolve();
      });
    });
  }

  request<T extends WorkerMessage>(command: WorkerCommand, type: T['type']): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`client worker ${this.index} ${this.exited}`));
    if (this.waiter) return Promise.reject(new Error(`client worker ${this.index} is busy with a ${this.waiter.type} command`));
    return new Promise<T>((resolve, reject) => {
      this.waiter = { type, resolve: resolve as (m: WorkerMessage) => void, reject };
      this.child.send(command, (err) => {
        if (err) this.fail(new Error(`cannot reach client worker ${this.index}: ${err.message}`));
      });
    });
  }

  private onMessage(m: WorkerMessage): void {
    if (typeof m !== 'object' || m === null) return;
    if (m.type === 'progress') {
      this.progress = m;
      return;
    }
    if (m.type === 'error') {
      this.fail(new Error(`client worker ${this.index}: ${m.message}`));
      return;
    }
    const w = this.waiter;
    if (!w || w.type !== m.type) return;
    this.waiter = null;
    w.resolve(m);
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }
}

export class WorkerPool {
  private constructor(private readonly workers: WorkerHandle[]) {}

  /** `cpuProfDir`: each worker writes its V8 CPU profile there when it exits. */
  static async start(count: number, settings: WorkerSettings, cpuProfDir?: string): Promise<WorkerPool> {
    const path = forkedModulePath('client-worker-main');
    const workers = Array.from(
      { length: count },
      (_, i) => new WorkerHandle(i, fork(path, [String(i)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: cpuProfileArgs(cpuProfDir), serialization: 'advanced' })),
    );
    const pool = new WorkerPool(workers);
    try {
      await Promise.all(workers.map((w) => w.request({ type: 'init', settings }, 'ready')));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Send each worker its command (`commandFor(i)`) and wait for every answer of `type`. */
  all<T extends WorkerMessage>(commandFor: (index: number) => WorkerCommand, type: T['type']): Promise<T[]> {
    return Promise.all(this.workers.map((w) => w.request<T>(commandFor(w.index), type)));
  }

  /** CPU seconds every worker has used so far, summed (each worker reads its own). */
  async cpuSeconds(): Promise<number> {
    const reports = await this.all<CpuReport>(() => ({ type: 'cpu' }), 'cpu');
    return reports.reduce((n, r) => n + r.cpuSeconds, 0);
  }

  /** Progress summed over workers (their latest reports). */
  progress(): Omit<Progress, 'type'> {
    const sum = { delivered: { w: 0, m: 0 }, sent: 0, confirmed: 0, failed: 0, open: 0 };
    for (const w of this.workers) {
      const p = w.progress;
      if (!p) continue;
      sum.delivered.w += p.delivered.w;
      sum.delivered.m += p.delivered.m;
      sum.sent += p.sent;
      sum.confirmed += p.confirmed;
      sum.failed += p.failed;
      sum.open += p.open;
    }
    return sum;
  }

  /** Close every connection, then end the processes (SIGKILL after a grace period). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.exitCode === null && w.child.signalCode === null && w.child.connected) {
          await Promise.race([w.request({ type: 'close' }, 'closed').catch(() => undefined), delay(5000)]);
        }
        if (w.child.connected) w.child.disconnect();
        const killer = setTimeout(() => w.child.kill('SIGKILL'), 2000);
        await w.exit;
        clearTimeout(killer);
      }),
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
