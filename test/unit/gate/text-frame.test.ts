import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { textFrame } from '../../../runtime/gate/text-frame.js';

const payload = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => 'abcdefghij'[i % 10]).join(''), 'utf8');

describe('textFrame', () => {
  it.each([
    { n: 0, header: [0x81, 0] },
    { n: 1, header: [0x81, 1] },
    { n: 125, header: [0x81, 125] },
    { n: 126, header: [0x81, 126, 0, 126] },
    { n: 65_535, header: [0x81, 126, 0xff, 0xff] },
    { n: 65_536, header: [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0] },
    { n: 70_000, header: [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70] },
  ])('frames $n payload bytes with the RFC 6455 header (FIN, text, unmasked)', ({ n, header }) => {
    const p = payload(n);
    const f = textFrame(p);
    expect([...f.subarray(0, header.length)]).toEqual(header);
    expect(f.length).toBe(header.length + n);
    expect(f.subarray(header.length).equals(p)).toBe(true);
  });

  describe('on the wire', () => {
    let wss: WebSocketServer;
    let url: string;
    beforeAll(async () => {
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      await once(wss, 'listening');
      url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => wss.close(() => r())));

    it('is read by a ws client as the same text messages, in order, written in one go to the socket', async () => {
      const sizes = [0, 5, 125, 126, 300, 65_535, 65_536, 100_000, 7];
      const texts = sizes.map((n, i) => `${i}:${payload(n).toString('utf8')}`);
      wss.once('connection', (ws) => {
        const socket = (ws as unknown as { _socket: Socket })._socket;
        socket.write(Buffer.concat(texts.map((t) => textFrame(Buffer.from(t, 'utf8')))));
      });
      const client = new WebSocket(url);
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        client.on('message', (data, isBinary) => {
          if (isBinary) reject(new Error('binary frame'));
          got.push(String(data));
          if (got.length === texts.length) resolve();
        });
        client.on('error', reject);
      });
      client.close();
      expect(got).toEqual(texts);
    });
  });
});
