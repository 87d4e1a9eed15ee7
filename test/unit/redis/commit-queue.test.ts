import { describe, expect, it } from 'vitest';
import { CommitQueues } from '../../../runtime/redis/commit-queue.js';

/** A send whose batches are answered by hand: `batches` holds what was sent, `answer(i)` replies to batch i. */
function manualSend() {
  const batches: number[][] = [];
  const replies: Array<{ resolve(r: string[]): void; reject(err: Error): void }> = [];
  const send = (calls: readonly number[]) => {
    batches.push([...calls]);
    return new Promise<string[]>((resolve, reject) => replies.push({ resolve, reject }));
  };
  const answer = (i: number) => replies[i]?.resolve((batches[i] as number[]).map((c) => `r${c}`));
  const fail = (i: number, err: Error) => replies[i]?.reject(err);
  return { batches, send, answer, fail };
}

/** Let queued microtasks and promise callbacks run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('CommitQueues', () => {
  it('sends the calls of one turn as one batch and answers each with its own result', async () => {
    const q = new CommitQueues<number, string>();
    const m = manualSend();
    const results = Promise.all([1, 2, 3].map((c) => q.submit('k', c, m.send)));
    await settle();
    expect(m.batches).toEqual([[1, 2, 3]]);
    m.answer(0);
    expect(await results).toEqual(['r1', 'r2', 'r3']);
    await settle();
    expect(q.size).toBe(0);
  });

  it('holds calls that come while a batch is out and sends them together after it', async () => {
    const q = new CommitQueues<number, string>();
    const m = manualSend();
    const first = q.submit('k', 1, m.send);
    await settle();
    const later = [2, 3, 4].map((c) => q.submit('k', c, m.send));
    await settle();
    expect(m.batches).toEqual([[1]]); // nothing more until the first batch is answered
    m.answer(0);
    expect(await first).toBe('r1');
    await settle();
    expect(m.batches).toEqual([[1], [2, 3, 4]]);
    m.answer(1);
    expect(await Promise.all(later)).toEqual(['r2', 'r3', 'r4']);
  });

  it('keeps keys apart', async () => {
    const q = new CommitQueues<number, string>();
    const m = manualSend();
    void q.submit('a', 1, m.send);
    void q.submit('b', 2, m.send);
    await settle();
    expect(m.batches).toEqual([[1], [2]]);
  });

  it('sends at most maxBatch calls per batch', async () => {
    const q = new CommitQueues<number, string>(2);
    const m = manualSend();
    const all = Promise.all([1, 2, 3, 4, 5].map((c) => q.submit('k', c, m.send)));
    for (let i = 0; i < 3; i++) {
      await settle();
      m.answer(i);
    }
    expect(await all).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(m.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails every call of a batch whose send fails, and sends the next batch anyway', async () => {
    const q = new CommitQueues<number, string>();
    const m = manualSend();
    const doomed = [1, 2].map((c) => q.submit('k', c, m.send));
    await settle();
    const next = q.submit('k', 3, m.send);
    m.fail(0, new Error('connection lost'));
    for (const d of doomed) await expect(d).rejects.toThrow('connection lost');
    await settle();
    m.answer(1);
    expect(await next).toBe('r3');
  });

  it('fails a batch whose send throws at once or answers too few results', async () => {
    const q = new CommitQueues<number, string>();
    await expect(q.submit('k', 1, () => { throw new Error('no connection'); })).rejects.toThrow('no connection');
    const short = [1, 2].map((c) => q.submit('k', c, async () => ['only one']));
    expect(await short[0]).toBe('only one');
    await expect(short[1]).rejects.toThrow(/2 calls was answered with 1 result/);
    await settle();
    expect(q.size).toBe(0);
  });

  it('refuses a batch size below 1', () => {
    expect(() => new CommitQueues(0)).toThrow(RangeError);
  });
});
