import { describe, expect, it, vi } from 'vitest';
import { WAKE_INTERVAL_MS, WakeupProbe } from '../../../runtime/bench/wakeup-probe.js';

/** Keep this process's only thread busy for `ms`: the probe's timer cannot run meanwhile. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('wake-up probe', () => {
  it('records how much later than asked its timer ran', async () => {
    const probe = new WakeupProbe();
    probe.start();
    await vi.waitFor(() => expect(probe.samples).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 5 });
    // The next wake-up is due within WAKE_INTERVAL_MS; holding the thread for six of them makes it at least five late.
    blockFor(6 * WAKE_INTERVAL_MS);
    const before = probe.samples;
    await vi.waitFor(() => expect(probe.samples).toBeGreaterThan(before), { timeout: 10_000, interval: 5 });
    const figures = probe.stop();
    expect(figures.samples).toBeGreaterThanOrEqual(2);
    expect(figures.max).toBeGreaterThanOrEqual(5 * WAKE_INTERVAL_MS);
    expect(figures.p50).toBeGreaterThanOrEqual(0);
    expect(figures.p50 as number).toBeLessThanOrEqual(figures.max as number);
  });

  it('gives the same figures when stopped twice, and starts afresh', async () => {
    const probe = new WakeupProbe();
    probe.start();
    await vi.waitFor(() => expect(probe.samples).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 5 });
    const first = probe.stop();
    expect(probe.stop()).toEqual(first);
    probe.start();
    expect(probe.samples).toBe(0);
    expect(probe.stop()).toEqual({ p50: null, p99: null, max: null, samples: 0 });
  });
});
