/**
 * The fault suite's load: chat users on real `ImgroupClient`s (the project's client library, with
 * its reconnect, resend-with-the-same-id and gap fill), spread over the gates, each a member of two
 * groups, each sending at a fixed modest rate — open loop: a send is written every interval whether
 * or not earlier ones are confirmed (the client bounds its pending sends). Everything goes to the
 * checker: acknowledged seqs, failed sends, messages received, error codes.
 */
import WebSocket from 'ws';
import { LatencyHistogram } from '../../../runtime/bench/latency-histogram.js';
import { ImgroupClient } from '../../../runtime/client/index.js';
import type { DeliveryChecker } from './checker.js';

export interface LoadOptions {
  /** WebSocket URL of each gate; user i connects to gates[i % gates.length]. */
  gateUrls: readonly string[];
  /** Default 8. */
  groups?: number;
  /** Users; each is a member of groups i % G and (i + 1) % G. Default 16. */
  users?: number;
  /** Each user writes one send every this many ms (alternating its groups). Default 400. */
  sendIntervalMs?: number;
  /** A tag that makes user and group ids unique to the run. */
  runId: string;
  token: (userId: string) => Promise<string>;
  /** Unconfirmed sends a client holds at most (beyond: TOO_MANY_PENDING, counted). Default 200. */
  maxPendingSends?: number;
}

export interface LoadUser {
  userId: string;
  groups: string[];
  gate: number;
  client: ImgroupClient;
}

export class LoadDriver {
  readonly users: LoadUser[] = [];
  readonly groups: string[];
  private timers: NodeJS.Timeout[] = [];
  private readonly pending = new Set<Promise<void>>();
  private sequence = 0;
  /** Wall time of each send acknowledged since the last `takeLatencies()`, first write to `sent`, ms. */
  private latencies = new LatencyHistogram();

  constructor(
    private readonly opts: LoadOptions,
    private readonly checker: DeliveryChecker,
  ) {
    const g = opts.groups ?? 8;
    this.groups = Array.from({ length: g }, (_, k) => `g-${opts.runId}-${k}`);
    const n = opts.users ?? 16;
    for (let i = 0; i < n; i++) {
      const userId = `u-${opts.runId}-${i}`;
      const groups = [this.groups[i % g] as string, this.groups[(i + 1) % g] as string];
      const gate = i % opts.gateUrls.length;
      this.users.push({ userId, groups, gate, client: this.newClient(userId, gate) });
      for (const group of groups) checker.addMember(group, userId);
    }
  }

  /** member lists per group, for the admin API. */
  membersByGroup(): Map<string, string[]> {
    const out = new Map<string, string[]>(this.groups.map((g) => [g, []]));
    for (const u of this.users) for (const g of u.groups) out.get(g)?.push(u.userId);
    return out;
  }

  private newClient(userId: string, gate: number): ImgroupClient {
    const client = new ImgroupClient({
      url: this.opts.gateUrls[gate] as string,
      token: () => this.opts.token(userId),
      WebSocket,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      sendTimeoutMs: 5000,
      maxPendingSends: this.opts.maxPendingSends ?? 200,
    });
    client.on('message', (m) => this.checker.received(userId, m.groupId, m.seq, m.body));
    client.on('error', (err) => this.checker.codeSeen(String(err.code)));
    return client;
  }

  async connect(): Promise<void> {
    await Promise.all(this.users.map((u) => u.client.connect()));
  }

  /** Send latencies (ms) of the sends acknowledged since the last call. */
  takeLatencies(): LatencyHistogram {
    const out = this.latencies;
    this.latencies = new LatencyHistogram();
    return out;
  }

  /** Begin sending: every user once per interval (default: the option's), staggered over the interval. */
  startSending(intervalMs?: number): void {
    const interval = intervalMs ?? this.opts.sendIntervalMs ?? 400;
    this.users.forEach((u, i) => {
      let turn = 0;
      const tick = () => this.send(u, u.groups[turn++ % u.groups.length] as string);
      const offset = Math.floor((interval * i) / this.users.length);
      const first = setTimeout(() => {
        tick();
        this.timers.push(setInterval(tick, interval));
      }, offset);
      this.timers.push(first);
    });
  }

  /** One send from `u` to `groupId`, recorded in the checker when it settles. */
  send(u: LoadUser, groupId: string): Promise<void> {
    const id = `s${++this.sequence}`;
    const body = `${u.userId}/${id}`;
    const startedAt = Date.now();
    const p = u.client.send(groupId, body, { id }).then(
      (r) => {
        const now = Date.now();
        this.latencies.record(now - startedAt);
        this.checker.sent(groupId, r.seq, body, startedAt, now);
      },
      (err: { code?: unknown }) => this.checker.sendFailed(String(err.code ?? 'UNKNOWN')),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Stop writing new sends and wait until every send written so far is confirmed or failed. */
  async stopSending(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * One last send per group (from its first member); its seq is the group's head, since nothing
   * else is being sent. Returns the heads.
   */
  async markHeads(): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    await Promise.all(
      this.groups.map(async (g) => {
        const u = this.users.find((x) => x.groups.includes(g)) as LoadUser;
        const id = `head-${g}`;
        const startedAt = Date.now();
        const body = `${u.userId}/${id}`;
        const r = await u.client.send(g, body, { id });
        this.checker.sent(g, r.seq, body, startedAt);
        heads.set(g, r.seq);
      }),
    );
    return heads;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    for (const u of this.users) u.client.close();
  }
}
