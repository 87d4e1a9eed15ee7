/**
 * The gate's liveness heartbeat, and what it does when the liveness had lapsed.
 *
 * A device counts as online only while its gate's liveness key holds the gate's boot id (see
 * presence-redis.ts). When a heartbeat comes too late (an event loop stalled, a Redis node paused
 * past the key's TTL, a failover that lost the key), readers saw every user of this gate offline
 * meanwhile, and logic nodes cached them so for up to their session-cache TTL: no live message and
 * no sweep for them until then. The heartbeat learns of the lapse (the value its SET replaced was
 * not this boot) and announces every open connection as online again, in chunks of
 * `announceChunk` devices, one chunk in flight, so the logic caches correct themselves at once.
 *
 * One heartbeat in flight at a time: a tick while the previous one runs is skipped, so a slow
 * Redis never piles heartbeats up. An announcement that fails is retried on the next tick.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../ops/logger.js';
import type { PresenceWriter } from '../presence/presence.js';

export interface LiveConnection {
  readonly userId: string;
  readonly connId: string;
  readonly isOpen: boolean;
}

/** Devices per announcement batch (one SPUBLISH each, pipelined per master). */
export const ANNOUNCE_CHUNK = 1000;

export class GateLiveness {
  private running: Promise<void> | null = null;
  private announcePending = false;

  constructor(
    private readonly writer: Pick<PresenceWriter, 'heartbeat' | 'announce'>,
    private readonly connections: () => Iterable<LiveConnection>,
    private readonly lapses: Counter,
    private readonly log: Logger,
    private readonly announceChunk = ANNOUNCE_CHUNK,
  ) {}

  /** One heartbeat (skipped while the previous one runs). Never rejects. */
  tick(): Promise<void> {
    this.running ??= this.beat().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when the heartbeat in flight (if any) is done. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async beat(): Promise<void> {
    let intact: boolean;
    try {
      intact = await this.writer.heartbeat();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'presence heartbeat failed');
      return;
    }
    if (!intact) {
      this.lapses.inc();
      this.announcePending = true;
      this.log.warn('the gate’s liveness key had expired (a late heartbeat or a Redis pause): its users looked offline meanwhile; announcing them online again');
    }
    if (!this.announcePending) return;
    const open: LiveConnection[] = [];
    for (const c of this.connections()) if (c.isOpen) open.push(c);
    try {
      for (let i = 0; i < open.length; i += this.announceChunk) await this.writer.announce(open.slice(i, i + this.announceChunk));
      this.announcePending = false;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, devices: open.length }, 'announcing this gate’s users online failed; retried on the next heartbeat');
    }
  }
}
