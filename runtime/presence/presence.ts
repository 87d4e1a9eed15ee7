/**
 * Presence: which devices (connections) of a user are online, and on which gate.
 * Gates write it; logic nodes and the admin API read it. One interface per role, one file per
 * backend (presence-redis.ts).
 */

export interface Device {
  /** Name of the gate holding the connection (stable, e.g. the pod name). */
  gate: string;
  /** Boot id of that gate process: a restarted gate's old devices are recognised as dead. */
  boot: string;
  connId: string;
}

/** Called by a gate. */
export interface PresenceWriter {
  /** Register the gate as alive and start counting its devices. Call once before anything else. */
  register(): Promise<void>;
  /**
   * Refresh the gate's liveness; call every heartbeat interval. Resolves false when the liveness
   * had lapsed (the key had expired: a late heartbeat, a Redis pause): readers saw this gate's
   * users offline meanwhile, and caches may still hold them so (see `announce`).
   */
  heartbeat(): Promise<boolean>;
  connect(userId: string, connId: string): Promise<void>;
  disconnect(userId: string, connId: string): Promise<void>;
  /**
   * Write open devices again (a Redis failover can lose an acknowledged write). Resolves with the
   * devices that were missing and are announced again as online.
   */
  reassert(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<number>;
  /** Announce open devices as online again (change notices only; presence in Redis is untouched). */
  announce(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<void>;
  /** Graceful shutdown: remove the given devices and the gate's liveness. */
  unregister(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<void>;
}

export interface PresenceLookup {
  /** Live devices per user; users with no live device are absent from the map. */
  devices: Map<string, Device[]>;
  /** When the data was read from Redis (ms since epoch), for presence-age accounting. */
  readAtMs: number;
}

/** Called by logic nodes and by the gate's admin API. */
export interface PresenceReader {
  lookup(userIds: readonly string[]): Promise<PresenceLookup>;
}

/** A change notice published by gates (sharded pub/sub), consumed by logic caches. */
export interface PresenceChange {
  userId: string;
  online: boolean;
  device: Device;
}
