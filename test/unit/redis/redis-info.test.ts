import { describe, expect, it } from 'vitest';
import { infoField } from '../../../runtime/redis/redis-info.js';

describe('INFO fields', () => {
  const reply = '# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\n\r\n# CPU\r\nused_cpu_sys:0.5\r\n';

  it.each([
    ['used_memory', '1024'],
    ['used_memory_human', '1.00K'],
    ['used_cpu_sys', '0.5'],
    ['used_cpu_user', null],
    ['memory', null],
  ])('%s → %j', (name, want) => {
    expect(infoField(reply, name)).toBe(want);
  });
});
