import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GateLiveness, type LiveConnection } from '../../../runtime/gate/liveness.js';

const log = pino({ level: 'silent' });

/** A scripted presence writer (the Redis one is tested in test/integration/presence). */
class Writer {
  beats: boolean[] = [];
  announced: string[][] = [];
  failAnnounces = 0;
  heartbeatGate: Promise<void> = Promise.resolve();
  heartbeats = 0;

  async heartbeat(): Promise<boolean> {
    this.heartbeats++;
    await this.heartbeatGate;
    return this.beats.shift() ?? true;
  }

  async announce(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<void> {
    if (this.failAnnounces > 0) {
      this.failAnnounces--;
      throw new Error('OVERLOADED');
    }
    this.announced.push(devices.map((d) => d.connId));
  }
}

function setup(conns: LiveConnection[], chunk = 2) {
  const writer = new Writer();
  const lapses = new Counter({ name: 'lapses_total', help: 'h', registers: [new Registry()] });
  const liveness = new GateLiveness(writer, () => conns, lapses, log, chunk);
  return { writer, lapses, liveness };
}

const conn = (connId: string, isOpen = true): LiveConnection => ({ userId: `u-${connId}`, connId, isOpen });

describe('GateLiveness', () => {
  it('announces nothing while the liveness holds', async () => {
    const { writer, lapses, liveness } = setup([conn('a')]);
    await liveness.tick();
    await liveness.tick();
    expect(writer.announced).toEqual([]);
    expect((await lapses.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('after a lapse announces every open connection, in chunks, once', async () => {
    const { writer, lapses, liveness } = setup([conn('a'), conn('b', false), conn('c'), conn('d'), conn('e')]);
    writer.beats = [false];
    await liveness.tick();
    expect(writer.announced).toEqual([['a', 'c'], ['d', 'e']]);
    expect((await lapses.get()).values[0]?.value).toBe(1);
    await liveness.tick();
    expect(writer.announced).toHaveLength(2);
  });

  it('retries a failed announcement on the next heartbeat', async () => {
    const { writer, liveness } = setup([conn('a')]);
    writer.beats = [false, true];
    writer.failAnnounces = 1;
    await liveness.tick();
    expect(writer.announced).toEqual([]);
    await liveness.tick();
    expect(writer.announced).toEqual([['a']]);
  });

  it('keeps one heartbeat in flight: a tick meanwhile is skipped', async () => {
    const { writer, liveness } = setup([]);
    let release!: () => void;
    writer.heartbeatGate = new Promise((r) => (release = r));
    const first = liveness.tick();
    const second = liveness.tick();
    expect(second).toBe(first);
    expect(writer.heartbeats).toBe(1);
    release();
    await first;
    await liveness.settled();
  });
});
