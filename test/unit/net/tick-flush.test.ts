import { describe, expect, it } from 'vitest';
import { TickFlush } from '../../../runtime/net/tick-flush.js';

const nextMacrotask = () => new Promise((r) => setImmediate(r));

describe('TickFlush', () => {
  it('flushes everything added in one tick once, in order, after the code that added it', async () => {
    const tf = new TickFlush();
    const log: string[] = [];
    const mk = (name: string) => ({ flush: () => log.push(name) });
    tf.add(mk('a'));
    tf.add(mk('b'));
    log.push('still running');
    tf.add(mk('c'));
    expect(tf.size).toBe(3);
    await nextMacrotask();
    expect(log).toEqual(['still running', 'a', 'b', 'c']);
    expect(tf.size).toBe(0);
  });

  it('starts a new round for additions made by a later tick or by a flush itself', async () => {
    const tf = new TickFlush();
    const log: string[] = [];
    tf.add({
      flush: () => {
        log.push('first');
        tf.add({ flush: () => log.push('added while flushing') });
      },
    });
    await nextMacrotask();
    expect(log).toEqual(['first', 'added while flushing']);
    tf.add({ flush: () => log.push('later tick') });
    await nextMacrotask();
    expect(log).toEqual(['first', 'added while flushing', 'later tick']);
  });
});
