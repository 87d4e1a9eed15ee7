/**
 * The benchmark's progress on a terminal: one line, rewritten in place on stderr, saying what
 * the run is doing and how far it got. Off the terminal (and with --json) it writes nothing, so
 * piped output stays exactly the report.
 */

export interface ProgressSink {
  /** A new step ("creating groups", "sending"…): its own line. */
  step(text: string): void;
  /** Rewrite the status line. */
  status(text: string): void;
  /** Clear the status line before the report is printed. */
  end(): void;
}

export const SILENT_PROGRESS: ProgressSink = { step: () => undefined, status: () => undefined, end: () => undefined };

/** Progress on `stream` (a TTY): steps as lines, the status line rewritten at most every 100 ms. */
export function terminalProgress(stream: NodeJS.WriteStream): ProgressSink {
  let shown = false;
  let lastAt = 0;
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    step(text) {
      clear();
      stream.write(`${text}\n`);
    },
    status(text) {
      const now = Date.now();
      if (now - lastAt < 100) return;
      lastAt = now;
      const width = Math.max(20, (stream.columns || 100) - 1);
      stream.write(`\r\x1b[K${text.slice(0, width)}`);
      shown = true;
    },
    end: clear,
  };
}

/** `12,345` */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
