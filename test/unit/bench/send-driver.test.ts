import { afterEach, describe, expect, it, vi } from 'vitest';
import { AckCoalescer, type Ackable } from '../../../runtime/bench/ack-coalescer.js';
import { resolveBenchOptions } from '../../../runtime/bench/bench-options.js';
import { decodeBody, phaseIndex } from '../../../runtime/bench/message-body.js';
import { buildPopulation } from '../../../runtime/bench/population.js';
import { dueCount, SendDriver } from '../../../runtime/bench/send-driver.js';
import { phasePlans } from '../../../runtime/bench/workload-run.js';
import type { SendPlan } from '../../../runtime/bench/worker-protocol.js';

interface Written {
  userId: string;
  frame: { id: string; groupId: string; body: string };
}

function driverFor(plan: Partial<SendPlan>, open = true) {
  const written: Written[] = [];
  const driver = new SendDriver(
    { phase: 'm', quotas: [{ userId: 'u1', groupId: 'g', count: 5 }, { userId: 'u2', groupId: 'g', count: 3 }], ratePerSec: 0, window: 2, bodyBytes: 40, ...plan },
    { sendTimeoutMs: 10_000, sendRetries: 2 },
    { write: (userId, frame) => open && written.push({ userId, frame: JSON.parse(frame) as Written['frame'] }) > 0 },
    'w0.',
  );
  return { driver, written };
}

afterEach(() => vi.useRealTimers());

describe('SendDriver, closed loop (--rate 0)', () => {
  it('keeps at most `window` messages per sender on their way, sending the next when one comes back', async () => {
    const { driver, written } = driverFor({});
    driver.start();
    expect(written.map((w) => w.userId)).toEqual(['u1', 'u1', 'u2', 'u2']);
    expect(decodeBody(written[0]?.frame.body)?.phase).toBe(phaseIndex('m'));
    driver.onEcho('u1', 'g');
    expect(written).toHaveLength(5);
    driver.onEcho('u3', 'g'); // not a sender of ours
    expect(written).toHaveLength(5);
    let seq = 0;
    for (let round = 0; round < 10 && written.length < 8; round++) {
      for (const w of written.slice()) driver.onEcho(w.userId, 'g');
    }
    expect(written).toHaveLength(8);
    for (const w of written) driver.onSent(w.frame.id, 'g', ++seq);
    const r = await driver.done;
    expect(r).toMatchObject({ phase: 'm', confirmed: 8, failed: 0, maxSeq: { g: 8 } });
    expect(new Set(written.map((w) => w.frame.id)).size).toBe(8);
  });

  it('re-sends a retryable error with the same id, then gives up after the retries', async () => {
    vi.useFakeTimers();
    const { driver, written } = driverFor({ quotas: [{ userId: 'u1', groupId: 'g', count: 1 }] });
    driver.start();
    const id = written[0]?.frame.id as string;
    driver.onError(id, 'RATE_LIMITED');
    await vi.advanceTimersByTimeAsync(1000);
    expect(written.map((w) => w.frame.id)).toEqual([id, id]);
    driver.onError(id, 'UNAVAILABLE');
    await vi.advanceTimersByTimeAsync(1000);
    driver.onError(id, 'UNAVAILABLE');
    const r = await driver.done;
    expect(r).toMatchObject({ confirmed: 0, failed: 1, errorCodes: { RATE_LIMITED: 1, UNAVAILABLE: 2 } });
  });

  it('fails a non-retryable error at once, and every send on a closed connection', async () => {
    const a = driverFor({ quotas: [{ userId: 'u1', groupId: 'g', count: 1 }] });
    a.driver.start();
    a.driver.onError(a.written[0]?.frame.id as string, 'NOT_MEMBER');
    expect(await a.driver.done).toMatchObject({ failed: 1, errorCodes: { NOT_MEMBER: 1 } });
    const b = driverFor({}, false);
    b.driver.start();
    expect(await b.driver.done).toMatchObject({ confirmed: 0, failed: 8, errorCodes: { CLOSED: 8 } });
  });

  it('times out sends without reply', async () => {
    vi.useFakeTimers();
    const { driver } = driverFor({ quotas: [{ userId: 'u1', groupId: 'g', count: 1 }] });
    driver.start();
    await vi.advanceTimersByTimeAsync(10_500);
    expect(await driver.done).toMatchObject({ failed: 1, errorCodes: { TIMEOUT: 1 } });
  });
});

describe('SendDriver, open loop (--rate)', () => {
  it('issues messages on schedule whatever comes back', async () => {
    vi.useFakeTimers();
    const { driver, written } = driverFor({ ratePerSec: 100 });
    driver.start();
    await vi.advanceTimersByTimeAsync(42);
    expect(written.length).toBe(4);
    await vi.advanceTimersByTimeAsync(100);
    expect(written.length).toBe(8);
    expect(written.filter((w) => w.userId === 'u1')).toHaveLength(5);
    written.forEach((w, i) => driver.onSent(w.frame.id, 'g', i + 1));
    expect(await driver.done).toMatchObject({ confirmed: 8 });
  });

  it.each([
    [0, 100, 10, 0],
    [-5, 100, 10, 0],
    [15, 100, 10, 1],
    [1000, 100, 10, 10],
    [1000, 100, 1000, 100],
  ])('dueCount(%i ms, %i/s, total %i) = %i', (elapsed, rate, total, want) => {
    expect(dueCount(elapsed, rate, total)).toBe(want);
  });
});

describe('phasePlans', () => {
  it('gives each worker the quotas of the senders it holds and the rate in proportion', () => {
    const o = resolveBenchOptions(['--group-size', '10', '--senders', '3', '--rate', '300'], {});
    const groups = buildPopulation({ runId: 'b', groups: 1, groupSize: 10, online: 0.5, senders: 3 });
    const workerOf = new Map([
      ['b.g0.u0', 0],
      ['b.g0.u1', 1],
      ['b.g0.u2', 0],
    ]);
    const plans = phasePlans(o, 'm', groups, workerOf, 90);
    expect(plans.map((p) => p.quotas.map((q) => q.userId))).toEqual([['b.g0.u0', 'b.g0.u2'], ['b.g0.u1']]);
    expect(plans.map((p) => p.ratePerSec)).toEqual([200, 100]);
  });
});

describe('AckCoalescer', () => {
  it('sends one cumulative ack per target and delay, and re-acks when forced', async () => {
    vi.useFakeTimers();
    const acks: number[] = [];
    const t: Ackable & { contiguous: number } = { contiguous: 0, acked: 0, writeAck: (seq) => acks.push(seq) > 0 };
    const c = new AckCoalescer(100);
    for (let s = 1; s <= 5; s++) {
      t.contiguous = s;
      c.mark(t);
    }
    expect(acks).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(acks).toEqual([5]);
    c.mark(t);
    await vi.advanceTimersByTimeAsync(100);
    expect(acks).toEqual([5]);
    c.mark(t, true);
    await vi.advanceTimersByTimeAsync(100);
    expect(acks).toEqual([5, 5]);
    expect(c.sent).toBe(2);
  });
});
