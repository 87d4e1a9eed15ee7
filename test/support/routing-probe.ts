/**
 * Which logic node a gate routes a group to, observed from outside: a group the ring over some
 * member ids gives to a chosen owner, and the one logic node whose message counter a send raised.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { HashRing } from '../../runtime/routing/hash-ring.js';
import type { RawClient } from './raw-client.js';
import { type LogicHandle, metricValue, type TestSystem } from './system.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

/** A fresh group that the ring over `ids` places on `owner`, with `members` added to it. */
export async function groupOwnedBy(sys: TestSystem, owner: string, ids: readonly string[], members: readonly string[]): Promise<string> {
  const ring = new HashRing([...ids]);
  for (;;) {
    const g = uid('g');
    if (ring.owner(g) !== owner) continue;
    await sys.addMembers(g, members);
    return g;
  }
}

/** Send one message as `client` to `groupId`; the name of the one logic node that stored it. */
export async function storingLogic(sys: TestSystem, client: RawClient, groupId: string, id = uid('m')): Promise<string> {
  const served = async (l: LogicHandle) => metricValue(await sys.metrics(l), 'imgroup_logic_messages_total');
  const before = await Promise.all(sys.logic.map(served));
  const r = await client.request({ type: 'send', id, groupId, body: id });
  expect(r.type, JSON.stringify(r)).toBe('sent');
  const after = await Promise.all(sys.logic.map(served));
  expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(1);
  const handlers = sys.logic.filter((_, i) => (after[i] as number) - (before[i] as number) === 1);
  expect(handlers).toHaveLength(1);
  return (handlers[0] as LogicHandle).name;
}
