import { describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../../runtime/gate/connection-registry.js';

const conn = (userId: string, connId: string) => ({ userId, connId });

describe('ConnectionRegistry', () => {
  it('finds connections by id and by user, across one and several devices', () => {
    const r = new ConnectionRegistry<{ userId: string; connId: string }>();
    const a1 = conn('a', '1');
    const a2 = conn('a', '2');
    const b1 = conn('b', '3');
    for (const c of [a1, a2, b1]) r.add(c);
    expect(r.size).toBe(3);
    expect(r.byId('2')).toBe(a2);
    const seen: string[] = [];
    expect(r.forUser('a', (c) => seen.push(c.connId))).toBe(2);
    expect(seen).toEqual(['1', '2']);
    expect(r.forUser('nobody', () => undefined)).toBe(0);

    expect(r.remove(a1)).toBe(true);
    expect(r.remove(a1)).toBe(false);
    const left: string[] = [];
    expect(r.forUser('a', (c) => left.push(c.connId))).toBe(1);
    expect(left).toEqual(['2']);
    expect(r.remove(a2)).toBe(true);
    expect(r.forUser('a', () => undefined)).toBe(0);
    expect(r.size).toBe(1);
  });

  it('lets the callback remove the connection it is visiting', () => {
    const r = new ConnectionRegistry<{ userId: string; connId: string }>();
    const cs = [conn('u', 'x'), conn('u', 'y'), conn('u', 'z')];
    for (const c of cs) r.add(c);
    const visited: string[] = [];
    r.forUser('u', (c) => {
      visited.push(c.connId);
      r.remove(c);
    });
    expect(visited).toEqual(['x', 'y', 'z']);
    expect(r.size).toBe(0);
  });

  it('does not remove a different connection that reuses an id', () => {
    const r = new ConnectionRegistry<{ userId: string; connId: string }>();
    const first = conn('u', 'same');
    r.add(first);
    expect(r.remove(conn('u', 'same'))).toBe(false);
    expect(r.byId('same')).toBe(first);
  });

  it('counts the connections of each user as they come and go', () => {
    const r = new ConnectionRegistry<{ userId: string; connId: string }>();
    const cs = [conn('u', 'a'), conn('u', 'b'), conn('v', 'c')];
    expect(r.countForUser('u')).toBe(0);
    for (const c of cs) r.add(c);
    expect([r.countForUser('u'), r.countForUser('v'), r.countForUser('w')]).toEqual([2, 1, 0]);
    r.remove(cs[0]!);
    expect(r.countForUser('u')).toBe(1);
    r.remove(cs[1]!);
    expect(r.countForUser('u')).toBe(0);
  });
});
