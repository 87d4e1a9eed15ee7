/**
 * A raw protocol-v1 WebSocket client for tests: it sends exactly the frames a test gives it and
 * records every frame it receives, so tests see the wire as a client does.
 */
import WebSocket from 'ws';
import { shouldReconnect } from '../../runtime/protocol/errors.js';
import { eventually } from './eventually.js';

export type Frame = Record<string, any>;

export class RawClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        frame = { type: '<unparsable>', text };
      }
      this.frames.push(frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
  }

  /** Connect with `?token=`; resolves after the `welcome` frame. */
  static async connect(wsUrl: string, token: string, opts: { header?: boolean } = {}): Promise<RawClient> {
    const client = await RawClient.open(wsUrl, token, opts);
    await client.next((f) => f.type === 'welcome');
    return client;
  }

  /** The WebSocket handshake only. */
  private static async open(wsUrl: string, token: string, opts: { header?: boolean } = {}): Promise<RawClient> {
    const ws = opts.header ? new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } }) : new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  /**
   * Connect as a client application would: a connection the gate closes with a code that says
   * reconnect (e.g. 4002, its presence write failed while Redis fails over) is opened again
   * (eventually's polling), until one is welcomed; any other close fails at once.
   */
  static async connectRetrying(wsUrl: string, token: string, timeoutMs = 60_000): Promise<RawClient> {
    let connected = null as RawClient | null;
    let lastClose = '';
    await eventually(
      'a connection welcomed',
      async () => {
        const c = await RawClient.connectOrClosed(wsUrl, token);
        if (c instanceof RawClient) connected = c;
        else if (shouldReconnect(c.code)) lastClose = `${c.code} ${c.reason}`;
        else throw new Error(`connection closed (${c.code} ${c.reason}) before the welcome`);
        return connected !== null;
      },
      { timeoutMs, explain: () => `last close: ${lastClose}` },
    );
    return connected as RawClient;
  }

  /** Connected (welcome received), or the close that came instead. */
  private static async connectOrClosed(wsUrl: string, token: string): Promise<RawClient | { code: number; reason: string }> {
    const client = await RawClient.open(wsUrl, token);
    try {
      await client.next((f) => f.type === 'welcome');
      return client;
    } catch (err) {
      if (client.closed) return client.closed;
      throw err;
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first received frame matching `pred` (already received or future), within `timeoutMs`. */
  async next(pred: (f: Frame) => boolean, timeoutMs = 30_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting; got ${JSON.stringify(this.frames.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; last frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send a request frame with an `id` and wait for the frame answering it (by id). */
  async request(frame: Frame, timeoutMs = 30_000): Promise<Frame> {
    const id = frame.id as string;
    this.send(frame);
    return this.next((f) => f.id === id && (f.type === 'sent' || f.type === 'sync.result' || f.type === 'error'), timeoutMs);
  }

  /** `msg` frames received for a group, in arrival order. */
  messages(groupId: string): Frame[] {
    return this.frames.filter((f) => f.type === 'msg' && f.groupId === groupId);
  }

  /** Wait until at least `count` msg frames of `groupId` have arrived. */
  async waitMessages(groupId: string, count: number, timeoutMs = 30_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages(groupId).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages in ${groupId}, got ${this.messages(groupId).length}`);
      await this.next(() => this.messages(groupId).length >= count, left).catch((e) => {
        if (this.messages(groupId).length < count) throw e;
      });
    }
    return this.messages(groupId);
  }

  async waitClose(timeoutMs = 30_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection did not close within ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}
