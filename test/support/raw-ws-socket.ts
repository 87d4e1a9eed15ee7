/**
 * A WebSocket client written by hand on a TCP socket (RFC 6455), for tests that must send what no
 * WebSocket library sends: fragments and continuation frames of their choosing, control frames
 * between fragments, unmasked or reserved-bit frames, unknown opcodes, invalid UTF-8, lengths over
 * any limit. It performs the upgrade, writes exactly the frames it is given, and reads the
 * server's frames (text, close, ping) as they arrive. raw-client.ts is the ordinary (ws) client.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';

export const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface OutFrame {
  opcode: number;
  payload: Buffer;
  /** FIN bit; default true. */
  fin?: boolean;
  /** Clients must mask; default true. */
  mask?: boolean;
  /** RSV1-3 as a 3-bit number; default 0. */
  rsv?: number;
}

export interface InFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

/** Server frames are bounded here too: a test reads small answers, never a flood. */
const MAX_IN_FRAME_BYTES = 1024 * 1024;

/** One frame as bytes on the wire. */
export function encodeFrame(f: OutFrame): Buffer {
  const n = f.payload.length;
  const mask = f.mask ?? true;
  const lenBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = ((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f);
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? n : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(n, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(n), 2);
  if (!mask) return Buffer.concat([head, f.payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.from(f.payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([head, body]);
}

export class RawWsSocket {
  readonly frames: InFrame[] = [];
  /** Set when the TCP connection ended. */
  ended = false;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Open a TCP connection and upgrade `path` with the given headers; resolves once the 101 arrived. */
  static connect(port: number, path: string, headers: Record<string, string>): Promise<RawWsSocket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        const key = randomBytes(16).toString('base64');
        const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
        for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        let head = Buffer.alloc(0);
        const onHead = (d: Buffer) => {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > 16 * 1024) reject(new Error('upgrade response head too large'));
            return;
          }
          socket.off('data', onHead);
          socket.off('error', reject);
          const status = /^HTTP\/1\.1 (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
          if (status !== '101') {
            socket.destroy();
            reject(new Error(`upgrade refused: HTTP ${status ?? '?'}`));
            return;
          }
          const client = new RawWsSocket(socket);
          const rest = head.subarray(end + 4);
          if (rest.length > 0) client.onData(rest);
          resolve(client);
        };
        socket.on('data', onHead);
      });
    });
  }

  write(...frames: OutFrame[]): void {
    this.socket.write(Buffer.concat(frames.map(encodeFrame)));
  }

  writeBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Text frames received, parsed as JSON. */
  json(): Array<Record<string, any>> {
    return this.frames.filter((f) => f.opcode === Opcode.TEXT).map((f) => JSON.parse(f.payload.toString('utf8')) as Record<string, any>);
  }

  /** The close frame's code, if one arrived (1005 for a close frame without a code). */
  closeCode(): number | null {
    const close = this.frames.find((f) => f.opcode === Opcode.CLOSE);
    if (!close) return null;
    return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  /** Wait until `pred` holds (checked on every frame and at the end of the connection). */
  async until(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.ended) throw new Error(`${what}: the connection ended first; frames: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms; frames: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the server's close frame (or the end of the connection); returns its code or null. */
  async closed(timeoutMs = 30_000): Promise<number | null> {
    await this.until('the server closes', () => this.closeCode() !== null || this.ended, timeoutMs).catch((err: Error) => {
      if (!this.ended) throw err;
    });
    return this.closeCode();
  }

  destroy(): void {
    this.socket.destroy();
  }

  describe(): string {
    return JSON.stringify(this.frames.slice(-5).map((f) => ({ op: f.opcode, fin: f.fin, text: f.payload.subarray(0, 200).toString('utf8') })));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0] as number;
      const b1 = this.buf[1] as number;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_IN_FRAME_BYTES)) {
          this.socket.destroy(new Error(`server frame of ${big} bytes`));
          return;
        }
        len = Number(big);
        off = 10;
      }
      if (b1 & 0x80) off += 4; // servers do not mask; tolerate it anyway
      if (this.buf.length < off + len) break;
      this.frames.push({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload: Buffer.from(this.buf.subarray(off, off + len)) });
      this.buf = this.buf.subarray(off + len);
    }
    this.wake();
  }
}
