/**
 * A real Prometheus server (Debian package `prometheus`) for tests: on 127.0.0.1 with a free
 * port, a temporary data directory and a generated scrape config. Queried through its HTTP API.
 * A Prometheus that does not come up fails with its log tail; `stop()` always removes its data.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProcess } from '../../runtime/dev/local-process.js';
import { eventually } from './eventually.js';
import { getFreePorts } from './free-ports.js';

export interface ScrapeJob {
  job: string;
  /** `host:port` of each target's ops port (`/metrics`). */
  targets: readonly string[];
}

export interface PrometheusOptions {
  jobs: readonly ScrapeJob[];
  scrapeIntervalSeconds?: number;
  /** How long to wait for `/-/ready`. */
  startTimeoutMs?: number;
  binary?: string;
}

/** One series of an instant query's answer. */
export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export type PromQueryData = { resultType: 'vector'; result: PromSeries[] } | { resultType: 'scalar' | 'string'; result: [number, string] } | { resultType: 'matrix'; result: unknown[] };

const START_ATTEMPTS = 3;

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly proc: LocalProcess,
    readonly dir: string,
  ) {}

  static async start(opts: PrometheusOptions): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'imgroup-prometheus-'));
    const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
    // JSON is YAML: no YAML library needed for the config.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      scrape_configs: opts.jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: [...j.targets] }] })),
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    let lastError: Error | null = null;
    // A port can be taken between the probe and Prometheus's bind: retry with a new one.
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      const [port] = (await getFreePorts(1)) as [number];
      const logFile = join(dir, `prometheus-${attempt}.log`);
      const proc = new LocalProcess({
        command: opts.binary ?? 'prometheus',
        args: [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=info',
        ],
        logFile,
      });
      const server = new PrometheusServer(`http://127.0.0.1:${port}`, proc, dir);
      try {
        await server.waitReady(opts.startTimeoutMs ?? 30_000);
        return server;
      } catch (err) {
        await proc.stop(2000);
        lastError = err as Error;
        if (!/address already in use/i.test(proc.logTail(40))) break;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError ?? new Error('Prometheus did not start');
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    await eventually('Prometheus ready', async () => {
      if (this.proc.spawnError) {
        const hint = (this.proc.spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install the Debian package "prometheus"; make deps does)' : '';
        throw new Error(`Prometheus could not be started: ${this.proc.spawnError.message}${hint}`);
      }
      if (!this.proc.running) throw new Error(`Prometheus exited (${JSON.stringify(this.proc.exit)}) before it was ready; its log ends:\n${this.proc.logTail(20)}`);
      try {
        return (await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false; // not listening yet
      }
    }, { timeoutMs, explain: () => `its log ends:\n${this.proc.logTail(20)}` });
  }


  /** An instant query through `/api/v1/query`; throws with Prometheus's own error text. */
  async query(expr: string): Promise<PromQueryData> {
    const res = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { status: string; data?: PromQueryData; errorType?: string; error?: string };
    if (body.status !== 'success' || !body.data) throw new Error(`Prometheus rejected ${JSON.stringify(expr)}: ${body.errorType ?? res.status} ${body.error ?? ''}`);
    return body.data;
  }

  /** The series of a query that must answer with a vector. */
  async vector(expr: string): Promise<PromSeries[]> {
    const data = await this.query(expr);
    if (data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${data.resultType}`);
    return data.result;
  }

  /** Scrape targets with their health, from `/api/v1/targets`. */
  async targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>> {
    const res = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> } };
    return body.data.activeTargets;
  }

  /** Poll until `check` holds (checked every 250 ms), or fail with `what` and the log tail. */
  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    await eventually(what, async () => {
      if (!this.proc.running) throw new Error(`Prometheus exited while waiting for ${what}; its log ends:\n${this.proc.logTail(20)}`);
      return check();
    }, { timeoutMs, intervalMs: 250, explain: () => `Prometheus log ends:\n${this.proc.logTail(10)}` });
  }


  logTail(lines = 20): string {
    return this.proc.logTail(lines);
  }

  async stop(): Promise<void> {
    await this.proc.stop(5000);
    if (!process.env.IMGROUP_KEEP_TEST_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }
}
