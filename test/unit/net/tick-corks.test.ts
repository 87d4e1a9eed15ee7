import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TickCorks } from '../../../runtime/net/tick-corks.js';
import { eventually } from '../../support/eventually.js';

let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** A connected loopback socket pair: what the client writes, the server side collects. */
async function pair(): Promise<{ client: Socket; received: () => string }> {
  let text = '';
  server = createServer((s) => {
    sockets.push(s);
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = createConnection({ host: '127.0.0.1', port });
  sockets.push(client);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  return { client, received: () => text };
}

describe('writes corked per tick', () => {
  it('corks a socket once however often it is written in a tick, and uncorks it when the tick ends', async () => {
    const { client, received } = await pair();
    const corks = new TickCorks();
    corks.write(client, 'a');
    corks.write(client, 'b');
    corks.write(client, Buffer.from('c'));
    expect(client.writableCorked).toBe(1);
    await new Promise((r) => process.nextTick(r));
    expect(client.writableCorked).toBe(0);
    await eventually('the bytes arrive in order', () => received() === 'abc');
    corks.write(client, 'd');
    expect(client.writableCorked).toBe(1);
    await eventually('a later tick’s write arrives', () => received() === 'abcd');
    expect(client.writableCorked).toBe(0);
  });
});
