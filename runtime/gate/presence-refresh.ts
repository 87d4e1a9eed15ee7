/**
 * Presence refresh: a gate writes the presence of its open connections again, so that an entry
 * Redis lost stops hiding a connected user. Redis replication is asynchronous: a master that
 * acknowledged a presence write and died before replicating it leaves the promoted replica
 * without that device, and nothing else would write it again while the connection lives — the
 * user would count as offline, get no live message and no sweep, until it reconnected.
 *
 * Each heartbeat tick rewrites one slice of the connections (by a hash of the connection id),
 * so every connection is rewritten once per IMGROUP_PRESENCE_REFRESH_MS: connections ×
 * heartbeat / refresh writes per tick, pipelined per master. A device found missing (HSET created
 * the field) is announced again as online, so logic caches learn it at once.
 */
import type { PresenceWriter } from '../presence/presence.js';

export interface RefreshedConnection {
  userId: string;
  connId: string;
}

export class PresenceRefresh {
  /** Ticks per full round: every connection is rewritten once in `slots` ticks. */
  private readonly slots: number;
  private tickNo = 0;

  constructor(
    private readonly writer: Pick<PresenceWriter, 'reassert'>,
    opts: { refreshMs: number; heartbeatMs: number },
  ) {
    this.slots = Math.max(1, Math.round(opts.refreshMs / opts.heartbeatMs));
  }

  /** The connections whose turn it is at this tick (the caller skips those still being written). */
  due<C extends RefreshedConnection>(connections: Iterable<C>): C[] {
    const slot = this.tickNo++ % this.slots;
    const out: C[] = [];
    for (const c of connections) if (slotOf(c.connId, this.slots) === slot) out.push(c);
    return out;
  }

  /** Rewrite `connections`; resolves with how many were missing in Redis. */
  write(connections: readonly RefreshedConnection[]): Promise<number> {
    return this.writer.reassert(connections);
  }
}

/** FNV-1a of the connection id, modulo `slots`. */
export function slotOf(connId: string, slots: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < connId.length; i++) {
    h ^= connId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % slots;
}
