/**
 * A small, steady load on a TestSystem, so that every metric of the processes moves: one group
 * owned by each logic node, the same members in each, on both gates (one with a device on each), two senders, acknowledgements, a member who keeps
 * reconnecting (connections opened and closed, login replay of what it missed) and one who is
 * never online (offline backlog). Once at the start it also walks the error paths a dashboard
 * shows: a refused token, an unparsable frame, an unknown frame type, an admin post, a sync.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { HashRing } from '../../runtime/routing/hash-ring.js';
import { RawClient } from './raw-client.js';
import type { TestSystem } from './system.js';

export interface LoadOptions {
  /**
   * Once at the start, a group of this many never-online members per logic node gets one post:
   * a burst of presence lookups (with a small IMGROUP_SESSION_CACHE_MAX_ENTRIES, evictions).
   */
  crowd?: number;
  /** Pause between two sends of one sender. */
  sendIntervalMs?: number;
  /** How often the reconnecting member drops and comes back. */
  churnIntervalMs?: number;
}

export interface LoadStats {
  sent: number;
  /** Sends answered with anything but `sent` (should stay 0). */
  failed: number;
  acks: number;
  reconnects: number;
}

export class SystemLoad {
  /** One group per logic node, each owned (by the rendezvous ring) by a different node. */
  readonly groupIds: string[];
  /** Every user id of the load: tests check that none shows up in a metric label. */
  readonly userIds: string[];
  /** Connection ids the gates gave the load's clients (from `welcome`). */
  readonly connIds = new Set<string>();
  readonly stats: LoadStats = { sent: 0, failed: 0, acks: 0, reconnects: 0 };
  private readonly clients: RawClient[] = [];
  private readonly acked = new Map<string, number>();
  private running = true;
  private loops: Promise<void>[] = [];

  private constructor(
    private readonly sys: TestSystem,
    private readonly opts: Required<LoadOptions>,
  ) {
    const tag = randomBytes(3).toString('hex');
    this.userIds = ['s0', 's1', 'r0', 'r1', 'churn', 'away'].map((u) => `${u}-${tag}`);
    this.groupIds = groupPerNode(sys.logic.map((l) => l.name));
  }

  static async start(sys: TestSystem, opts: LoadOptions = {}): Promise<SystemLoad> {
    const load = new SystemLoad(sys, { crowd: opts.crowd ?? 0, sendIntervalMs: opts.sendIntervalMs ?? 100, churnIntervalMs: opts.churnIntervalMs ?? 700 });
    await load.setUp();
    return load;
  }

  private get gates(): number {
    return this.sys.gates.length;
  }

  private async connect(userId: string, gate: number): Promise<RawClient> {
    const c = await RawClient.connect(this.sys.gates[gate % this.gates]!.wsUrl, await this.sys.token(userId));
    this.sys.track(c.ws);
    const welcome = c.frames.find((f) => f.type === 'welcome');
    if (typeof welcome?.connId === 'string') this.connIds.add(welcome.connId);
    return c;
  }

  private async setUp(): Promise<void> {
    const [s0, s1, r0, r1, churn] = this.userIds as [string, string, string, string, string];
    for (const g of this.groupIds) await this.sys.addMembers(g, this.userIds);
    const senders = [await this.connect(s0, 0), await this.connect(s1, 1)];
    const receivers = [await this.connect(r0, 0), await this.connect(r1, 1), await this.connect(r0, 1)];
    this.clients.push(...senders, ...receivers);
    await this.errorPaths(senders);
    if (this.opts.crowd > 0) await this.crowd(this.opts.crowd);
    this.loops = [
      ...senders.map((c, i) => this.sendLoop(c, i)),
      this.ackLoop(),
      this.churnLoop(churn),
    ];
  }

  /** Each gate: a refused token, an unparsable frame, an unknown type; then an admin post to each group and one sync. */
  private async errorPaths(senders: RawClient[]): Promise<void> {
    for (let g = 0; g < this.gates; g++) {
      const refused = await RawClient.connect(this.sys.gates[g]!.wsUrl, 'not-a-jwt').then(
        (c) => (c.close(), false),
        (err: Error) => /HTTP 401/.test(err.message),
      );
      if (!refused) throw new Error(`gate ${g} accepted a bad token`);
    }
    for (const c of senders) {
      c.send('{not json');
      c.send({ type: 'no-such-type' });
    }
    for (const c of senders) await c.next((f) => f.type === 'error' && f.code === 'UNKNOWN_TYPE');
    for (const g of this.groupIds) {
      const post = await this.sys.admin('POST', `/v1/groups/${g}/messages`, { from: 'system', body: 'load starts' });
      if (post.status !== 200) throw new Error(`admin post failed: ${post.status} ${JSON.stringify(post.body)}`);
    }
    const sync = await senders[0]!.request({ type: 'sync', id: 'load-sync', groupId: this.groupIds[0], afterSeq: 0 });
    if (sync.type !== 'sync.result') throw new Error(`sync failed: ${JSON.stringify(sync)}`);
  }

  private async crowd(size: number): Promise<void> {
    const tag = randomBytes(3).toString('hex');
    const members = Array.from({ length: size }, (_, i) => `crowd${i}-${tag}`);
    for (const g of groupPerNode(this.sys.logic.map((l) => l.name))) {
      await this.sys.addMembers(g, members);
      const post = await this.sys.admin('POST', `/v1/groups/${g}/messages`, { from: 'system', body: 'to the crowd' });
      if (post.status !== 200) throw new Error(`crowd post failed: ${post.status} ${JSON.stringify(post.body)}`);
    }
  }

  private async sendLoop(client: RawClient, sender: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const groupId = this.groupIds[i % this.groupIds.length];
      const reply = await client.request({ type: 'send', id: `m${sender}-${i}`, groupId, body: `load ${sender}/${i}` }).catch(() => null);
      if (reply?.type === 'sent') this.stats.sent++;
      else this.stats.failed++;
      await pause(this.opts.sendIntervalMs);
    }
  }

  /** Every connected client acknowledges the newest message it has, a few times a second. */
  private async ackLoop(): Promise<void> {
    while (this.running) {
      for (const [i, c] of this.clients.entries()) {
        if (c.closed) continue;
        for (const groupId of this.groupIds) {
          const newest = c.messages(groupId).reduce((max, f) => Math.max(max, f.seq as number), 0);
          const key = `${i}/${groupId}`;
          if (newest <= (this.acked.get(key) ?? 0)) continue;
          c.send({ type: 'ack', groupId, seq: newest });
          this.acked.set(key, newest);
          this.stats.acks++;
        }
      }
      await pause(200);
    }
  }

  /** A member that drops (with a close code of its own choosing) and comes back on the other gate. */
  private async churnLoop(userId: string): Promise<void> {
    for (let i = 0; this.running; i++) {
      const c = await this.connect(userId, i).catch(() => null);
      if (c) {
        this.stats.reconnects++;
        await pause(this.opts.churnIntervalMs);
        c.ws.close(3000 + (i % 1000), 'load churn');
      }
      await pause(this.opts.churnIntervalMs);
    }
  }

  /** Wait until the load has done at least this much (counts, not time). */
  async until(min: Partial<LoadStats>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const reached = () => Object.entries(min).every(([k, v]) => this.stats[k as keyof LoadStats] >= (v as number));
    while (!reached()) {
      if (Date.now() > deadline) throw new Error(`load did not reach ${JSON.stringify(min)} within ${timeoutMs} ms: ${JSON.stringify(this.stats)}`);
      await pause(50);
    }
  }

  /** Stop sending and close every connection of the load. */
  async stop(): Promise<LoadStats> {
    this.running = false;
    await Promise.all(this.loops);
    for (const c of this.clients) if (c.ws.readyState === WebSocket.OPEN) c.close();
    return this.stats;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A fresh group id for each node, each owned by that node on the ring of `nodes`. */
function groupPerNode(nodes: readonly string[]): string[] {
  const ring = new HashRing(nodes);
  return nodes.map((node) => {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const id = `load-${randomBytes(4).toString('hex')}`;
      if (ring.owner(id) === node) return id;
    }
    throw new Error(`no group id found for logic node ${node}`);
  });
}
