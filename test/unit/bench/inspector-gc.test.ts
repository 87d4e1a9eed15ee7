import { describe, expect, it } from 'vitest';
import { inspectorUrlFromLog } from '../../../runtime/bench/inspector-gc.js';

describe('inspectorUrlFromLog', () => {
  it('finds the loopback inspector URL Node prints at start', () => {
    const log = '{"level":30}\nDebugger listening on ws://127.0.0.1:39347/5b3c9c2e-1c1a-4a0e-9a3b-0e2f1d6c7a8b\nFor help, see: https://nodejs.org/en/docs/inspector\n';
    expect(inspectorUrlFromLog(log)).toBe('ws://127.0.0.1:39347/5b3c9c2e-1c1a-4a0e-9a3b-0e2f1d6c7a8b');
  });

  it.each([[''], ['Debugger listening on ws://0.0.0.0:9229/abc'], ['{"msg":"gate started"}']])('finds nothing in %j (only loopback counts)', (log) => {
    expect(inspectorUrlFromLog(log)).toBeNull();
  });
});
