/**
 * Socket writes coalesced per tick: the first write to a socket in a tick corks it, and a
 * TickFlush uncorks every corked socket once the current task has run, so a socket written k
 * times in one tick costs one `writev` instead of k system calls. The `--baseline` servers use
 * it as a gate coalesces the writes to its connections (gate/client-connection.ts): without it
 * the baseline would pay a system call per delivery where a gate pays one per connection and
 * tick, and the comparison would measure that rather than what imgroup adds. (A logic node corks
 * its gate links per fan-out, not per tick: see logic/gate-links.ts.)
 *
 * At most one entry per socket is pending (the set), so it is bounded by the open sockets.
 */
import type { Socket } from 'node:net';
import { type Flushable, TickFlush } from './tick-flush.js';

export class TickCorks implements Flushable {
  private readonly corked = new Set<Socket>();

  constructor(private readonly ticks: TickFlush = new TickFlush()) {}

  write(socket: Socket, data: Buffer | string): void {
    if (!this.corked.has(socket)) {
      if (this.corked.size === 0) this.ticks.add(this);
      this.corked.add(socket);
      socket.cork();
    }
    socket.write(data);
  }

  /** End of the tick: hand everything written since the corks to the kernel. */
  flush(): void {
    for (const s of this.corked) s.uncork();
    this.corked.clear();
  }
}
