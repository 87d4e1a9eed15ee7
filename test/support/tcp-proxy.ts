/**
 * A TCP proxy on loopback for fault tests: forwards every connection to one target, and can make
 * the connections it holds go silent — bytes in either direction are held, nothing is closed, no
 * error reaches either end — the way a dead peer or a dropped NAT entry looks to a client. New
 * connections after `stall()` are forwarded normally (the network "healed" for fresh connections).
 * `cut()` is the other failure: connections are torn down and refused until `restore()`.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private server: Server | null = null;
  port = 0;
  private refusing = false;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    this.port = addr.port;
    this.server = server;
  }

  /** Every connection open now goes silent (held, not closed). Later connections flow. */
  stall(): number {
    let n = 0;
    for (const p of this.pairs) {
      if (p.stalled) continue;
      p.stalled = true;
      p.client.pause();
      p.upstream.pause();
      n++;
    }
    return n;
  }

  /**
   * A cut link: every connection open now is destroyed (both ends see it close) and new ones are
   * accepted and closed at once, until `restore()`. Returns the connections destroyed.
   */
  cut(): number {
    this.refusing = true;
    const n = this.pairs.size;
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    return n;
  }

  /** New connections are forwarded again after a `cut()`. */
  restore(): void {
    this.refusing = false;
  }

  /** Open connections now (stalled or not). */
  get open(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, stalled: false };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!pair.stalled) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      if (pair.stalled) return; // a silent connection does not report its end either
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
