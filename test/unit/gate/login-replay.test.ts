import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LoginReplays, type LoginTarget } from '../../../runtime/gate/login-replay.js';
import { eventually } from '../../support/eventually.js';

const log = pino({ level: 'silent' });
const FAST = { minMs: 1, maxMs: 5 };

class Target implements LoginTarget {
  isOpen = true;
  done = 0;
  constructor(readonly connId: string) {}
  loginDone(): void {
    this.done++;
  }
}

describe('LoginReplays', () => {
  it('retries a failed replay until it is answered, and releases the held messages once', async () => {
    let attempts = 0;
    const delays: number[] = [];
    const replays = new LoginReplays<Target>(
      async () => {
        if (++attempts < 4) throw new Error('UNAVAILABLE');
        return { groups: 1, delivered: 3 };
      },
      { retry: (d) => delays.push(d) },
      log,
      FAST,
    );
    const t = new Target('c1');
    replays.start(t);
    await eventually('the replay is answered', () => t.done === 1);
    expect(attempts).toBe(4);
    expect(delays).toHaveLength(3);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(FAST.minMs);
    expect(replays.waiting).toBe(0);
  });

  it('stops retrying when the connection closes, and never releases its messages', async () => {
    let attempts = 0;
    const t = new Target('c2');
    const replays = new LoginReplays<Target>(
      async () => {
        if (++attempts === 2) t.isOpen = false;
        throw new Error('UNAVAILABLE');
      },
      { retry: () => undefined },
      log,
      FAST,
    );
    replays.start(t);
    await eventually('the second attempt', () => attempts === 2);
    await eventually('no retry waits', () => replays.waiting === 0);
    expect(t.done).toBe(0);
  });

  it('close() cancels the retries waiting', async () => {
    let attempts = 0;
    const replays = new LoginReplays<Target>(
      async () => {
        attempts++;
        throw new Error('UNAVAILABLE');
      },
      { retry: () => undefined },
      log,
      { minMs: 60_000, maxMs: 60_000 },
    );
    replays.start(new Target('c3'));
    await eventually('one retry waits', () => replays.waiting === 1);
    replays.close();
    expect(replays.waiting).toBe(0);
    expect(attempts).toBe(1);
  });
});
