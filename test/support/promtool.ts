/**
 * promtool (Debian package `prometheus`), the linter and rule tester Prometheus itself ships:
 * `check metrics` on a `/metrics` text (names, help texts, units, counter suffixes), `check rules`
 * and `test rules` on rule files.
 */
import { spawn } from 'node:child_process';

export interface PromtoolResult {
  /** Exit code: 0 clean, 1 failed (unreadable input, rule error, failed rule test), 3 lint problems. */
  code: number | null;
  /** stdout and stderr together: one line per problem; empty when clean. */
  output: string;
}

/** Run `promtool <args>`, feeding `stdin` when given; killed after `timeoutMs`. */
export function runPromtool(args: readonly string[], opts: { stdin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('promtool not found: install the Debian package "prometheus" (make deps does)') : err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8').trim() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

export function promtoolCheckMetrics(text: string, timeoutMs = 20_000): Promise<PromtoolResult> {
  return runPromtool(['check', 'metrics'], { stdin: text, timeoutMs });
}

/** `promtool check rules <file>`: syntax, PromQL and templates of every rule. */
export function promtoolCheckRules(file: string, timeoutMs = 20_000): Promise<PromtoolResult> {
  return runPromtool(['check', 'rules', file], { timeoutMs });
}

/** `promtool test rules <file>` (rule files named in it are relative to its directory). */
export function promtoolTestRules(file: string, timeoutMs = 60_000): Promise<PromtoolResult> {
  return runPromtool(['test', 'rules', file], { timeoutMs });
}
