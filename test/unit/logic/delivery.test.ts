import { describe, expect, it } from 'vitest';
import { insertBySeq, type QueuedMessage } from '../../../runtime/logic/fanout.js';
import { routeDevices } from '../../../runtime/logic/gate-delivery.js';
import { RecentGroups } from '../../../runtime/logic/recent-groups.js';
import type { Device } from '../../../runtime/presence/presence.js';

const dev = (gate: string, boot: string, connId: string): Device => ({ gate, boot, connId });

describe('routeDevices', () => {
  const links: Record<string, string> = { gA: 'bootA', gB: 'bootB' };
  const linkFor = (gate: string, boot: string) => (links[gate] === boot ? gate : undefined);

  it('names each user once per gate and counts devices without a matching link', () => {
    const devices = new Map<string, Device[]>([
      ['alice', [dev('gA', 'bootA', 'a1'), dev('gA', 'bootA', 'a2')]],
      ['bob', [dev('gB', 'bootB', 'b1')]],
      ['carol', [dev('gA', 'bootA', 'c1'), dev('gB', 'bootB', 'c2'), dev('gC', 'bootC', 'c3')]],
      ['dan', [dev('gB', 'oldBoot', 'd1')]],
    ]);
    const routes = routeDevices(devices, linkFor);
    expect(routes.byLink).toEqual(
      new Map([
        ['gA', ['alice', 'carol']],
        ['gB', ['bob', 'carol']],
      ]),
    );
    expect(routes.recipients).toBe(3);
    expect(routes.unroutable).toBe(2);
  });
});

describe('insertBySeq', () => {
  it('keeps a queue ascending by seq whatever the arrival order', () => {
    const list: QueuedMessage[] = [];
    for (const seq of [2, 1, 5, 3, 4]) insertBySeq(list, { msg: { groupId: 'g', seq, from: 'a', body: '', ts: 1 }, acceptedAt: seq });
    expect(list.map((q) => q.msg.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('RecentGroups', () => {
  it('walks the groups round robin and drops the least recent one when full', () => {
    const r = new RecentGroups(3);
    for (const g of ['a', 'b', 'c']) r.touch(g, 100);
    expect(r.next(2, 0)).toEqual(['a', 'b']);
    expect(r.next(2, 0)).toEqual(['c', 'a']);
    r.touch('d', 100); // full: 'b' (visited longest ago) makes room
    expect(r.has('b')).toBe(false);
    expect(r.size).toBe(3);
  });

  it('expires groups not touched since the horizon and forgets on request', () => {
    const r = new RecentGroups(10);
    r.touch('old', 10);
    r.touch('new', 1000);
    expect(r.next(10, 500)).toEqual(['new']);
    expect(r.has('old')).toBe(false);
    r.forget('new');
    expect(r.next(10, 0)).toEqual([]);
  });
});
