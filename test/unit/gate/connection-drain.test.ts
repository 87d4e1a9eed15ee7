import { describe, expect, it } from 'vitest';
import { type Drainable, drainConnections, drainOffsetMs } from '../../../runtime/gate/connection-drain.js';
import { resolveGateOptions, gateDrainBudgetMs } from '../../../runtime/gate/config.js';

class FakeConn implements Drainable {
  requestsInFlight = 0;
  closedWith: number | null = null;
  stopped = false;
  gone = false;
  get isClosed(): boolean {
    return this.gone || this.closedWith !== null;
  }
  stopTaking(): void {
    this.stopped = true;
  }
  close(code: number): void {
    this.closedWith = code;
  }
}

describe('drainOffsetMs', () => {
  it.each([
    [0, 4, 1000, 0],
    [1, 4, 1000, 250],
    [3, 4, 1000, 750],
    [0, 1, 1000, 0],
    [5, 10, 0, 0],
  ])('connection %i of %i over %i ms has its turn at %i ms', (index, count, windowMs, expected) => {
    expect(drainOffsetMs(index, count, windowMs)).toBe(expected);
  });

  it('spaces turns evenly: never two in one slot of window/count, none at or past the window', () => {
    const turns = Array.from({ length: 700 }, (_, i) => drainOffsetMs(i, 700, 10_000));
    expect(new Set(turns).size).toBe(700);
    expect(Math.max(...turns)).toBeLessThan(10_000);
  });
});

describe('drainConnections', () => {
  it('closes idle connections with the code, skips closed ones and waits for requests in flight', async () => {
    const conns = [new FakeConn(), new FakeConn(), new FakeConn()];
    conns[1]!.gone = true;
    conns[2]!.requestsInFlight = 1;
    const drained: boolean[] = [];
    const done = drainConnections(conns, { windowMs: 0, inFlightWaitMs: 60_000, closeCode: 1001, tickMs: 1 }, { drained: (w) => drained.push(w) });
    let finished = false;
    void done.then(() => (finished = true));
    await new Promise((r) => setImmediate(r));
    expect(conns[0]!.closedWith).toBe(1001);
    expect(conns[1]!.closedWith).toBeNull();
    expect(conns[2]!.stopped).toBe(true);
    expect(conns[2]!.closedWith).toBeNull();
    expect(finished).toBe(false);
    conns[2]!.requestsInFlight = 0;
    await done;
    expect(conns[2]!.closedWith).toBe(1001);
    expect(drained).toEqual([false, true]);
  });

  it('closes a connection whose requests outlast the wait', async () => {
    const conn = new FakeConn();
    conn.requestsInFlight = 3;
    await drainConnections([conn], { windowMs: 0, inFlightWaitMs: 5, closeCode: 1001, tickMs: 1 }, { drained: () => undefined });
    expect(conn.closedWith).toBe(1001);
  });
});

describe('gate drain budget', () => {
  it('is the window + request timeout + close handshakes + two Redis command timeouts, and the defaults fit the default shutdown timeout', () => {
    const { options } = resolveGateOptions([], { IMGROUP_MEMBERSHIP_FILE: '/m.json', IMGROUP_NODE_NAME: 'g' });
    expect(gateDrainBudgetMs(options)).toBe(10_000 + 5000 + 2000 + 2 * 2000);
    expect(gateDrainBudgetMs(options)).toBeLessThanOrEqual(options.shutdownTimeoutMs);
  });
});
