import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The root logger of a process: JSON lines on stdout. Made once in main.ts and passed down. */
export function createLogger(name: string, level: LevelWithSilent): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
