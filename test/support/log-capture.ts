/**
 * A pino logger whose JSON lines a test can read: for asserting what a process logs (and how
 * much), without parsing stdout.
 */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export interface CapturedLog {
  log: Logger;
  /** Every line logged so far, parsed. */
  lines(): Array<Record<string, any>>;
}

export function captureLog(level = 'info'): CapturedLog {
  const lines: Array<Record<string, any>> = [];
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      partial += chunk.toString('utf8');
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.length > 0) lines.push(JSON.parse(line) as Record<string, any>);
        nl = partial.indexOf('\n');
      }
      done();
    },
  });
  return { log: pino({ level }, sink), lines: () => lines };
}
