/**
 * The change notices of session caches, on Redis sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7).
 *
 * A fixed set of B bucket channels, so a logic node subscribes once, at start, to all of them and
 * never per user:
 *
 *   im:presence:{b<k>}   gates publish a PresenceChange when a device connects or disconnects;
 *                        k = fnv1a32(userId) mod B
 *   im:members:{b<k>}    logic publishes a MembersChange when a group's member list changed;
 *                        k = fnv1a32(groupId) mod B
 *
 * B (IMGROUP_PRESENCE_CHANNELS) must be the same on every gate and logic node: a node with another
 * B listens to other channels for the same user, and its cache then falls back to the TTL.
 * The two channels of one bucket share the hash tag `{b<k>}`, so they live on the same shard.
 *
 * Notices are untrusted input: `decode*` checks every field, the size, and that the id really
 * hashes to the bucket of the channel it came on; anything else is null (ignored).
 */
import { intOption } from '../config/options.js';
import { isValidId, isValidRequestId } from '../protocol/ids.js';
import { isValidNodeName } from '../protocol/internal-frames.js';
import { keys } from '../redis/keys.js';
import type { PresenceChange } from './presence.js';

/** Default number of bucket channels: spreads the publishing load over up to 64 shards. */
export const DEFAULT_PRESENCE_CHANNELS = 64;
export const MAX_PRESENCE_CHANNELS = 4096;

/** Notices longer than this are ignored (a real one is a few hundred bytes). */
export const MAX_NOTICE_BYTES = 2048;

/** The option, declared once and listed by both the gate and the logic node (the values must match). */
export const PRESENCE_CHANNELS_OPTION = intOption({
  key: 'presenceChannels',
  env: 'IMGROUP_PRESENCE_CHANNELS',
  flag: 'presence-channels',
  default: DEFAULT_PRESENCE_CHANNELS,
  min: 1,
  max: MAX_PRESENCE_CHANNELS,
  doc: 'Number of sharded pub/sub bucket channels for presence and member-list change notices (`im:presence:{b<k>}`, `im:members:{b<k>}`); must be the same on every gate and logic node.',
});

/** A group's member list changed (published by the logic node that changed it). */
export interface MembersChange {
  groupId: string;
}

/** FNV-1a, 32 bit, over the UTF-16 code units of `id` (ids are ASCII). Stable across processes. */
export function fnv1a32(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function bucketOf(id: string, buckets: number): number {
  return fnv1a32(id) % buckets;
}

export function presenceChannelOf(userId: string, buckets: number): string {
  return keys.presenceChannel(bucketOf(userId, buckets));
}

export function membersChannelOf(groupId: string, buckets: number): string {
  return keys.membersChannel(bucketOf(groupId, buckets));
}

/** Every channel a logic node subscribes to, with the bucket and kind of each. */
export function allChannels(buckets: number): Array<{ channel: string; bucket: number; kind: 'presence' | 'members' }> {
  const out: Array<{ channel: string; bucket: number; kind: 'presence' | 'members' }> = [];
  for (let b = 0; b < buckets; b++) {
    out.push({ channel: keys.presenceChannel(b), bucket: b, kind: 'presence' });
    out.push({ channel: keys.membersChannel(b), bucket: b, kind: 'members' });
  }
  return out;
}

export function encodePresenceChange(change: PresenceChange): string {
  return JSON.stringify({ userId: change.userId, online: change.online, device: { gate: change.device.gate, boot: change.device.boot, connId: change.device.connId } });
}

export function encodeMembersChange(change: MembersChange): string {
  return JSON.stringify({ groupId: change.groupId });
}

/** A presence notice received on the channel of `bucket`; null when malformed or misrouted. */
export function decodePresenceChange(text: string, bucket: number, buckets: number): PresenceChange | null {
  const v = parseObject(text);
  if (!v) return null;
  const { userId, online, device } = v;
  if (!isValidId(userId) || typeof online !== 'boolean') return null;
  if (typeof device !== 'object' || device === null || Array.isArray(device)) return null;
  const { gate, boot, connId } = device as Record<string, unknown>;
  if (!isValidNodeName(gate) || !isValidNodeName(boot) || !isValidRequestId(connId)) return null;
  if (bucketOf(userId, buckets) !== bucket) return null;
  return { userId, online, device: { gate, boot, connId } };
}

/** A member-list notice received on the channel of `bucket`; null when malformed or misrouted. */
export function decodeMembersChange(text: string, bucket: number, buckets: number): MembersChange | null {
  const v = parseObject(text);
  if (!v || !isValidId(v.groupId) || bucketOf(v.groupId, buckets) !== bucket) return null;
  return { groupId: v.groupId };
}

function parseObject(text: string): Record<string, unknown> | null {
  if (typeof text !== 'string' || text.length > MAX_NOTICE_BYTES) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
