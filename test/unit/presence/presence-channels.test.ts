import { describe, expect, it } from 'vitest';
import {
  allChannels,
  bucketOf,
  decodeMembersChange,
  decodePresenceChange,
  encodeMembersChange,
  encodePresenceChange,
  fnv1a32,
  MAX_NOTICE_BYTES,
  membersChannelOf,
  presenceChannelOf,
} from '../../../runtime/presence/presence-channels.js';
import type { PresenceChange } from '../../../runtime/presence/presence.js';

const B = 64;
const change: PresenceChange = { userId: 'alice', online: true, device: { gate: 'gate-0', boot: 'a1b2c3', connId: 'Xy_-9' } };
const bucket = bucketOf('alice', B);

describe('bucket channels', () => {
  it('hashes ids with FNV-1a (32 bit), the same in every process', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('puts users and groups in buckets 0..B-1 with channels that carry the bucket as hash tag', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const b = bucketOf(`user-${i}`, B);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(B);
      seen.add(b);
    }
    expect(seen.size).toBe(B);
    expect(presenceChannelOf('alice', B)).toBe(`im:presence:{b${bucket}}`);
    expect(membersChannelOf('g1', B)).toBe(`im:members:{b${bucketOf('g1', B)}}`);
    const all = allChannels(4);
    expect(all).toHaveLength(8);
    expect(new Set(all.map((c) => c.channel)).size).toBe(8);
  });
});

describe('notices', () => {
  it('round-trips presence and member-list changes', () => {
    expect(decodePresenceChange(encodePresenceChange(change), bucket, B)).toEqual(change);
    expect(decodePresenceChange(encodePresenceChange({ ...change, online: false }), bucket, B)).toEqual({ ...change, online: false });
    const g = 'group-1';
    expect(decodeMembersChange(encodeMembersChange({ groupId: g }), bucketOf(g, B), B)).toEqual({ groupId: g });
  });

  const good = JSON.parse(encodePresenceChange(change)) as Record<string, any>;
  it.each([
    ['not JSON', '{'],
    ['not an object', '[1,2]'],
    ['null', 'null'],
    ['no userId', JSON.stringify({ ...good, userId: undefined })],
    ['a user id outside the alphabet', JSON.stringify({ ...good, userId: 'a b' })],
    ['online not a boolean', JSON.stringify({ ...good, online: 'yes' })],
    ['no device', JSON.stringify({ ...good, device: null })],
    ['a device array', JSON.stringify({ ...good, device: [] })],
    ['a bad gate name', JSON.stringify({ ...good, device: { ...good.device, gate: '-gate' } })],
    ['a bad boot id', JSON.stringify({ ...good, device: { ...good.device, boot: '' } })],
    ['a connId with control characters', JSON.stringify({ ...good, device: { ...good.device, connId: 'a\nb' } })],
    ['a connId too long', JSON.stringify({ ...good, device: { ...good.device, connId: 'c'.repeat(129) } })],
    ['a user of another bucket', JSON.stringify({ ...good, userId: Array.from({ length: 100 }, (_, i) => `u${i}`).find((u) => bucketOf(u, B) !== bucket) })],
    ['an oversized notice', JSON.stringify({ ...good, pad: 'x'.repeat(MAX_NOTICE_BYTES) })],
  ])('ignores a presence notice with %s', (_name, text) => {
    expect(decodePresenceChange(text, bucket, B)).toBeNull();
  });

  it.each([
    ['not JSON', 'x'],
    ['no groupId', '{}'],
    ['a bad group id', JSON.stringify({ groupId: 'g/1' })],
    ['a group of another bucket', JSON.stringify({ groupId: Array.from({ length: 100 }, (_, i) => `g${i}`).find((g) => bucketOf(g, B) !== 0) })],
  ])('ignores a member-list notice with %s', (_name, text) => {
    expect(decodeMembersChange(text, 0, B)).toBeNull();
  });
});
