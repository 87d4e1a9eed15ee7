/**
 * The internal link between the `--baseline` broadcast server processes: newline-delimited JSON
 * frames over plain loopback TCP (Nagle off; a tick's frames to a peer leave in one write). Each process listens for its peers and opens one
 * socket to every other process; it writes only to the sockets it opened and reads only from
 * the ones it accepted, so no handshake is needed to pair them.
 *
 * Two frames carry a message between processes, the least that gives every member of a group
 * the same gap-free seqs when its members sit on different processes:
 * - `send` — a client's send, from the process that received it to the group's sequencer (the
 *   process that numbers the group's messages);
 * - `msg` — a numbered message, from the sequencer to every other process; each writes it to
 *   its own members, and the process that received the send also answers `sent` to its sender.
 *
 * What comes off a peer socket is untrusted: a line longer than the bound (a few send frames) closes that socket,
 * a line that is not a frame is dropped.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listen } from '../ops/listen.js';
import type { TickCorks } from '../net/tick-corks.js';

export type RelayFrame =
  /** `o`: index of the process holding the sender's connection; `c`: its connection number there. */
  | { t: 'send'; o: number; c: number; id: string; g: string; from: string; body: string }
  | { t: 'msg'; o: number; c: number; id: string; g: string; seq: number; from: string; body: string; ts: number };

export interface RelayPeer {
  index: number;
  host: string;
  port: number;
}

/** Parse one line into a frame; null when it is not one. */
export function parseRelayFrame(line: string): RelayFrame | null {
  let f: Partial<Record<string, unknown>>;
  try {
    f = JSON.parse(line) as typeof f;
  } catch {
    return null;
  }
  if (typeof f !== 'object' || f === null) return null;
  const common = Number.isInteger(f.o) && Number.isInteger(f.c) && typeof f.id === 'string' && typeof f.g === 'string' && typeof f.from === 'string' && typeof f.body === 'string';
  if (!common) return null;
  if (f.t === 'send') return f as RelayFrame;
  if (f.t === 'msg' && Number.isInteger(f.seq) && typeof f.ts === 'number') return f as RelayFrame;
  return null;
}

/** Splits a text stream into lines of at most `maxLineChars` characters; false once a line is longer (the stream is then unusable). */
export class LineSplitter {
  private pending = '';

  constructor(private readonly maxLineChars: number) {}

  push(chunk: string, onLine: (line: string) => void): boolean {
    const text = this.pending + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (nl - start > this.maxLineChars) return false;
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.pending = text.slice(start);
    return this.pending.length <= this.maxLineChars;
  }
}

export class RelayMesh {
  private readonly out = new Map<number, Socket>();
  private readonly accepted = new Set<Socket>();
  private server: Server | null = null;

  constructor(
    private readonly maxLineChars: number,
    /** Writes to peers are corked per tick with the server's client writes. */
    private readonly corks: TickCorks,
    private readonly onFrame: (frame: RelayFrame) => void,
  ) {}

  /** Listen for peers on a free port of `host`; resolves to the port. */
  async listen(host: string): Promise<number> {
    const server = createServer((socket) => {
      this.accepted.add(socket);
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      const lines = new LineSplitter(this.maxLineChars);
      socket.on('data', (chunk: string) => {
        if (!lines.push(chunk, (line) => this.dispatch(line))) socket.destroy();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.accepted.delete(socket));
    });
    this.server = server;
    return listen(server, 0, host);
  }

  /** Open a socket to every peer; resolves when all are connected. */
  async connect(peers: readonly RelayPeer[]): Promise<void> {
    await Promise.all(
      peers.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            const socket = createConnection({ host: p.host, port: p.port, noDelay: true });
            socket.once('connect', () => {
              socket.off('error', reject);
              socket.on('error', () => undefined);
              this.out.set(p.index, socket);
              resolve();
            });
            socket.once('error', reject);
          }),
      ),
    );
  }

  /** Write a frame to one peer (dropped when there is no open socket to it). */
  sendTo(index: number, frame: RelayFrame): void {
    const socket = this.out.get(index);
    if (socket) this.corks.write(socket, `${JSON.stringify(frame)}\n`);
  }

  /** Write the same frame to every peer (serialised once). */
  sendToAll(frame: RelayFrame): void {
    if (this.out.size === 0) return;
    const line = `${JSON.stringify(frame)}\n`;
    for (const socket of this.out.values()) this.corks.write(socket, line);
  }

  async close(): Promise<void> {
    for (const s of this.out.values()) s.destroy();
    for (const s of this.accepted) s.destroy();
    this.out.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private dispatch(line: string): void {
    const frame = parseRelayFrame(line);
    if (frame) this.onFrame(frame);
  }
}
