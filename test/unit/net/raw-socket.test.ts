/**
 * The gate's write fast path reads ws's private `_socket` (runtime/net/raw-socket.ts). These
 * tests fail when a real ws WebSocket, on either side of a real connection, stops carrying it:
 * then the pinned ws version was changed and the fast path must be re-checked.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { rawSocketOf } from '../../../runtime/net/raw-socket.js';

const open: Array<{ close(): void }> = [];

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** A real ws server on 127.0.0.1 port 0 and a real client connected to it. */
async function connectedPair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  open.push(wss);
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  open.push({ close: () => client.terminate() });
  await once(client, 'open');
  const [server] = await accepted;
  return { server, client };
}

describe('rawSocketOf on a real ws connection', () => {
  it('finds the private _socket, a net.Socket, on the server side', async () => {
    const { server } = await connectedPair();
    expect((server as unknown as { _socket?: unknown })._socket).toBeInstanceOf(Socket);
    expect(rawSocketOf(server)).toBe((server as unknown as { _socket: Socket })._socket);
  });

  it('finds it on the client side too (the gate corks its links to logic this way)', async () => {
    const { client } = await connectedPair();
    expect((client as unknown as { _socket?: unknown })._socket).toBeInstanceOf(Socket);
    expect(rawSocketOf(client)).toBeInstanceOf(Socket);
  });

  it('writes that go through the raw socket arrive as WebSocket frames, in call order with ws.send', async () => {
    const { server, client } = await connectedPair();
    const got: string[] = [];
    const three = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        got.push(String(data));
        if (got.length === 3) resolve();
      }),
    );
    const socket = rawSocketOf(server) as Socket;
    socket.cork();
    server.send('one');
    socket.write(Buffer.from([0x81, 3, ...Buffer.from('two')]));
    server.send('three');
    socket.uncork();
    await three;
    expect(got).toEqual(['one', 'two', 'three']);
  });

  it('is null for an object without a socket (callers fall back to ws.send)', () => {
    expect(rawSocketOf({} as WebSocket)).toBeNull();
    expect(rawSocketOf({ _socket: { write: () => true } } as unknown as WebSocket)).toBeNull();
  });
});
