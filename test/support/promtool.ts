/**
 * `promtool check metrics` (Debian package `prometheus`) on a `/metrics` text: the linter that
 * Prometheus itself ships for names, help texts, units and counter suffixes.
 */
import { spawn } from 'node:child_process';

export interface PromtoolResult {
  /** Exit code: 0 clean, 3 lint problems, 1 unreadable input. */
  code: number | null;
  /** stdout and stderr together: one line per problem; empty when clean. */
  output: string;
}

export function promtoolCheckMetrics(text: string, timeoutMs = 20_000): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('promtool not found: install the Debian package "prometheus" (make deps does)') : err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8').trim() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}
