import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { writeRefusal } from '../../../runtime/ops/http-refusal.js';

async function written(socket: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('writeRefusal', () => {
  it('writes one complete response with the status, length and extra headers, then ends the socket', async () => {
    const socket = new PassThrough();
    writeRefusal(socket, { status: 503, contentType: 'text/plain', body: 'shutting down ü\n', headers: { 'Retry-After': '1' } });
    expect(await written(socket)).toBe(
      'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nRetry-After: 1\r\n\r\nshutting down ü\n',
    );
  });

  it('leaves a destroyed socket alone', () => {
    const socket = Object.assign(new PassThrough(), { end: vi.fn() });
    socket.destroy();
    writeRefusal(socket, { status: 401, contentType: 'application/json', body: '{}' });
    expect(socket.end).not.toHaveBeenCalled();
  });
});
