/**
 * Byte-bounded log reads through a real logic node and the real Redis Cluster: sync pages of
 * large messages stay within IMGROUP_SYNC_PAGE_BYTES and page on to the end, a message larger
 * than a page still comes (alone), login replay stays within IMGROUP_REPLAY_MAX_BYTES without
 * starving small groups behind big ones, and the node's read budget
 * (IMGROUP_LOGIC_LOG_READ_MAX_BYTES) makes reads wait, or refuses them UNAVAILABLE, instead of
 * asking Redis for more at once.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES } from '../../../runtime/logic/log-page.js';
import type { ChatMessage } from '../../../runtime/protocol/client-frames.js';
import type { DeliverFrame, ResFrame } from '../../../runtime/protocol/internal-frames.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';

const KiB = 1024;
const PAGE_BYTES = 64 * KiB;
const BIG_BODY = 15_000;

let logic: TestLogic;
let gate: GateDriver;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'), {
    IMGROUP_SYNC_PAGE_BYTES: String(PAGE_BYTES),
    IMGROUP_REPLAY_MAX_BYTES: String(PAGE_BYTES),
  });
  gate = await logic.driver();
});
afterAll(async () => {
  await logic?.close();
});

/** A group of `members` with `count` messages of `bodyBytes` each (the body names the seq). */
async function group(members: string[], count: number, bodyBytes: number, d = gate): Promise<string> {
  const g = uid('g');
  await d.call({ op: 'members.update', groupId: g, add: members, remove: [] });
  for (let i = 1; i <= count; i++) {
    const head = `${g} #${i} `;
    await d.call({ op: 'send', userId: members[0] as string, groupId: g, clientId: `m${i}`, body: head + 'x'.repeat(Math.max(0, bodyBytes - head.length)) });
  }
  return g;
}

/** Bytes of messages as the page script counts them (ASCII bodies). */
function pageBytes(msgs: readonly ChatMessage[]): number {
  return msgs.reduce((sum, m) => sum + ENTRY_OVERHEAD_BYTES + `${m.seq}-1`.length + 3 + m.from.length + m.body.length + String(m.ts).length, 0);
}

describe('sync pages', () => {
  it('carry at most the page bytes of 15 KB messages, with more=true, and page on to the end', async () => {
    const alice = uid('alice');
    const g = await group([alice], 30, BIG_BODY);
    const readBefore = await logic.metric('imgroup_logic_log_read_bytes_total', { path: 'sync' });
    const seqs: number[] = [];
    let afterSeq = 0;
    let pages = 0;
    for (;;) {
      const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq, limit: 1000 });
      pages++;
      expect(page.messages.length).toBeGreaterThan(0);
      expect(pageBytes(page.messages)).toBeLessThanOrEqual(PAGE_BYTES);
      seqs.push(...page.messages.map((m: ChatMessage) => m.seq));
      afterSeq = page.messages.at(-1).seq;
      if (!page.more) break;
    }
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Four 15 KB messages fit 64 KiB: eight pages, and Redis was never asked for more than a page each.
    expect(pages).toBe(8);
    const read = (await logic.metric('imgroup_logic_log_read_bytes_total', { path: 'sync' })) - readBefore;
    expect(read).toBeLessThanOrEqual(pages * PAGE_BYTES);
  });

  it('count bodies as JSON writes them: control characters, quotes and backslashes weigh their escapes', async () => {
    const alice = uid('alice');
    const g = await group([alice], 0, 0);
    // 8 KiB stored, about 44 KiB as JSON: a page counting stored bytes would carry 7 of them (300 KiB of frame).
    const body = '\u0001'.repeat(6 * KiB) + '"\\'.repeat(KiB);
    for (let i = 0; i < 6; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `esc${i}`, body });
    const seqs: number[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq, limit: 1000 });
      const frameBytes = page.messages.reduce((sum: number, m: ChatMessage) => sum + Buffer.byteLength(JSON.stringify({ type: 'msg', ...m })), 0);
      if (page.messages.length > 1) expect(frameBytes).toBeLessThanOrEqual(PAGE_BYTES);
      seqs.push(...page.messages.map((m: ChatMessage) => m.seq));
      afterSeq = page.messages.at(-1).seq;
      if (!page.more) break;
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('bring a message larger than a page alone, so paging goes on', async () => {
    const alice = uid('alice');
    const g = await group([alice], 0, 0);
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'small', body: 'small' });
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'huge', body: 'h'.repeat(100 * KiB) });
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'after', body: 'after' });
    const first = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 1000 });
    expect(first.messages.map((m: ChatMessage) => m.body)).toEqual(['small']);
    expect(first.more).toBe(true);
    const second = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 1, limit: 1000 });
    expect(second.messages.map((m: ChatMessage) => m.seq)).toEqual([2]);
    expect(second.messages[0].body).toHaveLength(100 * KiB);
    expect(second.more).toBe(true);
    const third = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 2, limit: 1000 });
    expect(third).toMatchObject({ messages: [{ seq: 3, body: 'after' }], more: false });
  });

  it('of small messages stop at the limit, and say whether more follow', async () => {
    const alice = uid('alice');
    const g = await group([alice], 12, 20);
    expect(await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 12 })).toMatchObject({ more: false });
    const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 5 });
    expect(page.messages.map((m: ChatMessage) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(page.more).toBe(true);
    expect(await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 12, limit: 5 })).toEqual({ messages: [], more: false });
  });

  it('answer a non-member NOT_MEMBER and read nothing for them', async () => {
    const [alice, eve] = [uid('alice'), uid('eve')];
    const g = await group([alice], 3, BIG_BODY);
    const before = await logic.metric('imgroup_logic_log_read_bytes_total', { path: 'sync' });
    expect(await gate.request({ op: 'sync', userId: eve, groupId: g, afterSeq: 0, limit: 1000 })).toMatchObject({ ok: false, code: 'NOT_MEMBER' });
    expect(await logic.metric('imgroup_logic_log_read_bytes_total', { path: 'sync' })).toBe(before);
  });
});

describe('login replay', () => {
  it('pushes at most the replay bytes over all groups, oldest first, without starving small groups', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const big1 = await group([alice, dave], 10, BIG_BODY);
    const small = await group([alice, dave], 5, 50);
    const big2 = await group([alice, dave], 10, BIG_BODY);
    const before = gate.frames.length;
    const result = await gate.call({ op: 'login', userId: dave, connId: 'conn-big' });
    const frames = gate.frames.slice(before).filter((f): f is DeliverFrame => f.t === 'deliver' && f.conns?.[0] === 'conn-big');
    const msgs = (g: string) => frames.filter((f) => f.groupId === g).flatMap((f) => f.msgs);
    const all = frames.flatMap((f) => f.msgs);
    expect(pageBytes(all)).toBeLessThanOrEqual(PAGE_BYTES);
    expect(result.delivered).toBe(all.length);
    expect(msgs(small).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const g of [big1, big2]) {
      const seqs = msgs(g).map((m) => m.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    // The budget was used, not wasted: the big groups got what fits beside the small one.
    expect(msgs(big1).length + msgs(big2).length).toBeGreaterThanOrEqual(3);
  });

  it('gives every group with a backlog at least its first unacknowledged message, from a second budget', async () => {
    // 7 groups of 15 KB messages: the 64 KiB replay budget reaches about 4 of them; the others
    // must still start at their first unacknowledged seq, or a client without state of its own
    // would start them at their next live message and ack past the backlog.
    const erin = uid('erin');
    const groups: string[] = [];
    for (let g = 0; g < 7; g++) groups.push(await group([erin], 3, BIG_BODY));
    const before = gate.frames.length;
    const result = await gate.call({ op: 'login', userId: erin, connId: 'conn-seeds' });
    const frames = gate.frames.slice(before).filter((f): f is DeliverFrame => f.t === 'deliver' && f.conns?.[0] === 'conn-seeds');
    const all = frames.flatMap((f) => f.msgs);
    expect(result.delivered).toBe(all.length);
    expect(pageBytes(all)).toBeLessThanOrEqual(2 * PAGE_BYTES);
    for (const g of groups) {
      const seqs = frames.filter((f) => f.groupId === g).flatMap((f) => f.msgs.map((m) => m.seq));
      expect(seqs[0], `first message pushed in ${g}`).toBe(1);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    expect(result.groups).toBe(7);
  });
});

describe('the node read budget', () => {
  it('makes concurrent reads wait so that the bytes in flight never exceed it', async () => {
    const node = await startTestLogic(inject('redisSeeds'), {
      IMGROUP_SYNC_PAGE_BYTES: String(PAGE_BYTES),
      IMGROUP_REPLAY_MAX_BYTES: String(PAGE_BYTES),
      IMGROUP_LOGIC_LOG_READ_MAX_BYTES: String(PAGE_BYTES),
    });
    try {
      const d = await node.driver();
      const alice = uid('alice');
      const g = await group([alice], 12, BIG_BODY, d);
      let maxInFlight = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxInFlight = Math.max(maxInFlight, await node.metric('imgroup_logic_log_read_bytes_in_flight'));
          await new Promise((r) => setImmediate(r));
        }
      })();
      const pages = await Promise.all(Array.from({ length: 20 }, () => d.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 1000 })));
      sampling = false;
      await sampler;
      expect(pages.every((p) => p.messages.length === 4 && p.more === true)).toBe(true);
      expect(maxInFlight).toBeGreaterThan(0);
      expect(maxInFlight).toBeLessThanOrEqual(PAGE_BYTES);
      expect(await node.metric('imgroup_logic_log_read_admissions_total', { result: 'waited' })).toBeGreaterThanOrEqual(1);
      expect(await node.metric('imgroup_logic_log_read_admissions_total', { result: 'refused' })).toBe(0);
      expect(await node.metric('imgroup_logic_log_read_bytes_in_flight')).toBe(0);
    } finally {
      await node.close();
    }
  });

  it('answers UNAVAILABLE, naming the bound, when a read cannot get room within the wait', async () => {
    const node = await startTestLogic(inject('redisSeeds'), {
      IMGROUP_SYNC_PAGE_BYTES: String(PAGE_BYTES),
      IMGROUP_REPLAY_MAX_BYTES: String(PAGE_BYTES),
      IMGROUP_LOGIC_LOG_READ_MAX_BYTES: String(PAGE_BYTES),
      IMGROUP_LOGIC_LOG_READ_WAIT_MS: '0',
    });
    try {
      const d = await node.driver();
      const alice = uid('alice');
      const g = await group([alice], 12, BIG_BODY, d);
      const answers: ResFrame[] = await Promise.all(Array.from({ length: 20 }, () => d.request({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 1000 })));
      const refused = answers.filter((a) => !a.ok);
      expect(answers.some((a) => a.ok)).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) expect(a).toMatchObject({ ok: false, code: 'UNAVAILABLE', message: expect.stringMatching(/IMGROUP_LOGIC_LOG_READ_MAX_BYTES/) });
      expect(await node.metric('imgroup_logic_log_read_admissions_total', { result: 'refused' })).toBe(refused.length);
    } finally {
      await node.close();
    }
  });
});
