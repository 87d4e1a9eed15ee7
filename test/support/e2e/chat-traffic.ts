/**
 * Live group chat for the end-to-end scenarios, as users make it: every member runs the imgroup
 * client (runtime/client: reconnects with backoff, retries unconfirmed sends under the same id,
 * fills gaps in seq order) against one URL — the gate Service, through the ServiceProxy — and
 * the senders send one message after another (closed loop: the next goes once the previous was
 * confirmed or refused, so the pace follows the machine, never a clock).
 *
 * "Accepted" is a send the gate confirmed with a seq. The check a user cares about: every accepted
 * message reaches every member, exactly once, whatever happened to pods meanwhile.
 */
import WebSocket from 'ws';
import { signToken } from '../../../runtime/auth/token-signer.js';
import { ImgroupClient } from '../../../runtime/client/index.js';
import type { WebSocketConstructor } from '../../../runtime/client/web-socket-like.js';
import { eventually } from '../eventually.js';

export interface ChatTrafficOptions {
  /** ws://host:port/v1/ws of the gate Service. */
  wsUrl: string;
  /** http://host:port of the gate Service (admin API: group members). */
  httpUrl: string;
  jwtSecret: string;
  adminToken: string;
  groupId: string;
  /** Member ids; each gets a client. */
  users: readonly string[];
  /** Of them, these send. */
  senders: readonly string[];
}

export class ChatTraffic {
  private readonly clients = new Map<string, ImgroupClient>();
  /** Per member: seqs received (each must come once). */
  private readonly received = new Map<string, Map<number, number>>();
  /** seq → body of every accepted send. */
  readonly accepted = new Map<number, string>();
  /** Sends the gates refused or the client gave up on (not accepted: not required to arrive). */
  refused = 0;
  private sending = false;
  private loops: Promise<void>[] = [];
  private counter = 0;

  constructor(private readonly opts: ChatTrafficOptions) {}

  /** Add the members to the group (admin API) and connect every client. */
  async connect(): Promise<void> {
    await eventually(`members added to ${this.opts.groupId}`, async () => {
      const res = await fetch(`${this.opts.httpUrl}/v1/groups/${encodeURIComponent(this.opts.groupId)}/members`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.opts.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ add: this.opts.users }),
      });
      return res.status === 200;
    }, { timeoutMs: 60_000, intervalMs: 250, retryErrors: true });
    for (const user of this.opts.users) {
      const client = new ImgroupClient({
        url: this.opts.wsUrl,
        token: () => signToken(this.opts.jwtSecret, user, 3600),
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        reconnectMinMs: 100,
        reconnectMaxMs: 2000,
      });
      const seen = new Map<number, number>();
      this.received.set(user, seen);
      client.on('message', (m) => {
        if (m.groupId === this.opts.groupId) seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
      });
      client.on('error', () => undefined);
      this.clients.set(user, client);
      await client.connect();
    }
  }

  /** Start the senders (closed loop). */
  start(): void {
    if (this.sending) return;
    this.sending = true;
    this.loops = this.opts.senders.map((user) => this.sendLoop(user));
  }

  /** Stop sending and wait for the sends in flight to settle. */
  async stop(): Promise<void> {
    this.sending = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Wait until `n` more sends were accepted (traffic is flowing). */
  async acceptedAtLeast(n: number, what: string): Promise<void> {
    const target = this.accepted.size + n;
    await eventually(`${what}: ${target} messages accepted`, () => this.accepted.size >= target, { timeoutMs: 120_000, intervalMs: 100 });
  }

  /**
   * Every accepted message delivered to every member; returns per member what is missing and
   * what came twice, after waiting up to the bound (empty lists: nothing lost).
   */
  async waitDelivered(timeoutMs = 120_000): Promise<{ missing: Record<string, number[]>; duplicated: Record<string, number[]> }> {
    const missingOf = (user: string) => [...this.accepted.keys()].filter((seq) => !this.received.get(user)?.has(seq)).sort((a, b) => a - b);
    await eventually('every accepted message reached every member', () => this.opts.users.every((u) => missingOf(u).length === 0), { timeoutMs, intervalMs: 200 }).catch(() => undefined);
    const missing: Record<string, number[]> = {};
    const duplicated: Record<string, number[]> = {};
    for (const u of this.opts.users) {
      const m = missingOf(u);
      if (m.length > 0) missing[u] = m.slice(0, 20);
      const d = [...(this.received.get(u) ?? new Map<number, number>()).entries()].filter(([, n]) => n > 1).map(([seq]) => seq);
      if (d.length > 0) duplicated[u] = d.slice(0, 20);
    }
    return { missing, duplicated };
  }

  /** How many of the group's messages a member received. */
  receivedBy(user: string): number {
    return this.received.get(user)?.size ?? 0;
  }

  client(user: string): ImgroupClient {
    const c = this.clients.get(user);
    if (!c) throw new Error(`no client for ${user}`);
    return c;
  }

  async close(): Promise<void> {
    this.sending = false;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private async sendLoop(user: string): Promise<void> {
    const client = this.client(user);
    while (this.sending) {
      const body = `${user} #${++this.counter}`;
      try {
        const r = await client.send(this.opts.groupId, body);
        this.accepted.set(r.seq, body);
      } catch {
        this.refused++;
        // A refusal (e.g. UNAVAILABLE while a logic node moves) is not a loss; the loop goes on
        // once the client is open again.
        await eventually(`${user} connected again`, () => client.state === 'open' || !this.sending, { timeoutMs: 120_000, intervalMs: 50 }).catch(() => undefined);
      }
    }
  }
}
