/**
 * Presence in Redis (see runtime/redis/keys.ts for the layout):
 *
 * - each device is a field `connId` → `<gate>|<boot>` of the hash `im:{u:U}:presence`;
 * - each gate keeps `im:gate:{<gate>}` = its boot id with a TTL of `ttlMs`, refreshed every
 *   heartbeat. A device counts as online only while its gate's key holds the same boot id, so a
 *   gate killed without cleaning up stops counting its users within `ttlMs` plus the reader's
 *   liveness cache (`gateCacheMs`): the gate sets ttlMs = 1.5 × heartbeat and readers cache
 *   liveness for 0.25 × heartbeat, which keeps the bound under 2 heartbeats.
 * - devices of an earlier incarnation of a gate (its key holds another boot id) are deleted
 *   lazily by readers. Devices of a gate whose key is merely missing are kept (the gate may be
 *   late with a heartbeat); the hash's own expiry removes them in the end.
 *
 * A lookup of N users costs one pipelined HGETALL per master plus, at most once per
 * `gateCacheMs`, one pipelined GET of the gates' liveness keys.
 */
import { keys } from '../redis/keys.js';
import type { BatchCommand, RedisStore } from '../redis/redis-store.js';
import { encodePresenceChange, presenceChannelOf } from './presence-channels.js';
import type { Device, PresenceLookup, PresenceReader, PresenceWriter } from './presence.js';

/** Presence hashes of users that stay connected for long are kept this long after the last connect. */
const PRESENCE_HASH_TTL_MS = 7 * 24 * 3600 * 1000;
/** At most this many lazy deletions are sent per lookup. */
const MAX_LAZY_DELETES = 1000;

export function encodeDevice(gate: string, boot: string): string {
  return `${gate}|${boot}`;
}

export function decodeDevice(connId: string, value: unknown): Device | null {
  if (typeof value !== 'string') return null;
  const bar = value.indexOf('|');
  if (bar <= 0 || bar === value.length - 1) return null;
  return { gate: value.slice(0, bar), boot: value.slice(bar + 1), connId };
}

export interface RedisPresenceWriterOptions {
  gate: string;
  boot: string;
  /** TTL of the gate's liveness key (1.5 × heartbeat). */
  ttlMs: number;
  /** Publish changes on the user's sharded bucket channel (for logic session caches). */
  publishChanges: boolean;
  /** Number of bucket channels (IMGROUP_PRESENCE_CHANNELS); must match the logic nodes'. */
  channels: number;
}

export class RedisPresenceWriter implements PresenceWriter {
  private readonly value: string;

  constructor(
    private readonly store: RedisStore,
    private readonly opts: RedisPresenceWriterOptions,
  ) {
    this.value = encodeDevice(opts.gate, opts.boot);
  }

  async register(): Promise<void> {
    await this.store.batch([
      ['set', keys.gateAlive(this.opts.gate), this.opts.boot, 'PX', this.opts.ttlMs],
      ['sadd', keys.gates(), this.opts.gate],
    ]).then(throwFirst);
  }

  async heartbeat(): Promise<boolean> {
    // SET … GET (Redis 6.2+): the value it replaced says whether the liveness held. Outside the
    // process's command budget: one small command per heartbeat (the gate sends one at a time),
    // and refusing it under load would show every user of this gate offline.
    const before = await this.store.callReserved<string | null>('set', keys.gateAlive(this.opts.gate), this.opts.boot, 'PX', this.opts.ttlMs, 'GET');
    return before === this.opts.boot;
  }

  async announce(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<void> {
    if (!this.opts.publishChanges || devices.length === 0) return;
    await this.store.batch(devices.map((d) => this.notice(d.userId, d.connId, true))).then(throwFirst);
  }

  async connect(userId: string, connId: string): Promise<void> {
    const key = keys.userPresence(userId);
    const cmds: BatchCommand[] = [
      ['hset', key, connId, this.value],
      ['pexpire', key, PRESENCE_HASH_TTL_MS],
    ];
    if (this.opts.publishChanges) cmds.push(this.notice(userId, connId, true));
    await this.store.batch(cmds).then(throwFirst);
  }

  async reassert(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<number> {
    if (devices.length === 0) return 0;
    const cmds: BatchCommand[] = [];
    for (const d of devices) {
      const key = keys.userPresence(d.userId);
      cmds.push(['hset', key, d.connId, this.value], ['pexpire', key, PRESENCE_HASH_TTL_MS]);
    }
    const replies = await this.store.batch(cmds);
    throwFirst(replies);
    // HSET answers 1 for a field it created: that device was missing, so caches may hold it offline.
    const restored = devices.filter((_, i) => replies[2 * i]?.[1] === 1);
    if (restored.length > 0 && this.opts.publishChanges) {
      await this.store.batch(restored.map((d) => this.notice(d.userId, d.connId, true))).then(throwFirst);
    }
    return restored.length;
  }

  async disconnect(userId: string, connId: string): Promise<void> {
    const cmds: BatchCommand[] = [['hdel', keys.userPresence(userId), connId]];
    if (this.opts.publishChanges) cmds.push(this.notice(userId, connId, false));
    await this.store.batch(cmds).then(throwFirst);
  }

  async unregister(devices: ReadonlyArray<{ userId: string; connId: string }>): Promise<void> {
    const cmds: BatchCommand[] = devices.map((d) => ['hdel', keys.userPresence(d.userId), d.connId] as const);
    if (this.opts.publishChanges) {
      for (const d of devices) cmds.push(this.notice(d.userId, d.connId, false));
    }
    cmds.push(['del', keys.gateAlive(this.opts.gate)]);
    await this.store.batch(cmds).then(throwFirst);
  }

  /** SPUBLISH of a change on the user's bucket channel. */
  private notice(userId: string, connId: string, online: boolean): BatchCommand {
    const text = encodePresenceChange({ userId, online, device: { gate: this.opts.gate, boot: this.opts.boot, connId } });
    return ['spublish', presenceChannelOf(userId, this.opts.channels), text];
  }
}

function throwFirst(replies: ReadonlyArray<[Error | null, unknown]>): void {
  const failed = replies.find((r) => r[0]);
  if (failed?.[0]) throw failed[0];
}

export interface RedisPresenceReaderOptions {
  /** How long a gate's liveness (boot id or absence) is trusted before it is read again. */
  gateCacheMs: number;
  now?: () => number;
}

export class RedisPresenceReader implements PresenceReader {
  private readonly gateBoots = new Map<string, { boot: string | null; readAtMs: number }>();
  private readonly now: () => number;

  constructor(
    private readonly store: RedisStore,
    private readonly opts: RedisPresenceReaderOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async lookup(userIds: readonly string[]): Promise<PresenceLookup> {
    const readAtMs = this.now();
    const unique = [...new Set(userIds)];
    const replies = await this.store.batch(unique.map((u) => ['hgetall', keys.userPresence(u)] as const));
    const raw = new Map<string, Device[]>();
    const gates = new Set<string>();
    replies.forEach(([err, value], i) => {
      if (err) throw err;
      const devices: Device[] = [];
      for (const [connId, v] of Object.entries((value ?? {}) as Record<string, string>)) {
        const d = decodeDevice(connId, v);
        if (d) {
          devices.push(d);
          gates.add(d.gate);
        }
      }
      if (devices.length > 0) raw.set(unique[i] as string, devices);
    });
    await this.refreshGates(gates);
    const devices = new Map<string, Device[]>();
    const dead: BatchCommand[] = [];
    for (const [userId, list] of raw) {
      const alive = list.filter((d) => this.gateBoots.get(d.gate)?.boot === d.boot);
      if (alive.length > 0) devices.set(userId, alive);
      for (const d of list) {
        const current = this.gateBoots.get(d.gate)?.boot;
        if (current === null || current === undefined || current === d.boot || dead.length >= MAX_LAZY_DELETES) continue;
        dead.push(['hdel', keys.userPresence(userId), d.connId]);
      }
    }
    if (dead.length > 0) void this.store.batch(dead).catch(() => undefined);
    return { devices, readAtMs };
  }

  private async refreshGates(gates: Set<string>): Promise<void> {
    const now = this.now();
    const stale = [...gates].filter((g) => {
      const known = this.gateBoots.get(g);
      return !known || now - known.readAtMs >= this.opts.gateCacheMs;
    });
    if (stale.length === 0) return;
    if (this.gateBoots.size > 4096) this.gateBoots.clear();
    const replies = await this.store.batch(stale.map((g) => ['get', keys.gateAlive(g)] as const));
    replies.forEach(([err, value], i) => {
      if (err) throw err;
      this.gateBoots.set(stale[i] as string, { boot: typeof value === 'string' ? value : null, readAtMs: now });
    });
  }
}
