/**
 * Test driver that plays a gate against a real logic node: it opens the internal WebSocket with
 * the gate headers, sends internal-protocol frames exactly as given, and records every frame the
 * node sends back (decoded with the protocol's own decoder). With `presence()` it also writes
 * presence for its users in Redis, the way a gate does, so the node's fan-out can find them.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { RedisPresenceWriter } from '../../../runtime/presence/presence-redis.js';
import { DEFAULT_PRESENCE_CHANNELS } from '../../../runtime/presence/presence-channels.js';
import { type DeliverFrame, decodeLogicFrame, GATE_BOOT_HEADER, GATE_HEADER, INTERNAL_PATH, type InternalRequest, type LogicToGateFrame, type ResFrame } from '../../../runtime/protocol/internal-frames.js';
import type { RedisStore } from '../../../runtime/redis/redis-store.js';

export interface DriverOptions {
  token: string;
  gate?: string;
  boot?: string;
  /** Extra or replacing handshake headers (e.g. to test refusals). */
  headers?: Record<string, string>;
}

export class GateDriver {
  readonly frames: LogicToGateFrame[] = [];
  /** Text frames the protocol decoder rejected (must stay empty). */
  readonly undecodable: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private nextRid = 1;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly gate: string,
    readonly boot: string,
  ) {
    ws.on('message', (data) => {
      const text = String(data);
      const frame = decodeLogicFrame(text);
      if (frame) this.frames.push(frame);
      else this.undecodable.push(text);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
  }

  static async connect(baseUrl: string, opts: DriverOptions): Promise<GateDriver> {
    const gate = opts.gate ?? `gate-${randomBytes(3).toString('hex')}`;
    const boot = opts.boot ?? randomBytes(6).toString('hex');
    const headers = { authorization: `Bearer ${opts.token}`, [GATE_HEADER]: gate, [GATE_BOOT_HEADER]: boot, ...opts.headers };
    const ws = new WebSocket(`${baseUrl}${INTERNAL_PATH}`, { headers });
    const driver = new GateDriver(ws, gate, boot);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new HandshakeRefused(res.statusCode ?? 0)));
      ws.once('error', reject);
    });
    return driver;
  }

  /** A presence writer for this gate (register() it, then connect() users). */
  presence(store: RedisStore): RedisPresenceWriter {
    return new RedisPresenceWriter(store, { gate: this.gate, boot: this.boot, ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  notify(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Send a request and wait for its `res`; rejects with LinkClosed when the link closes first. */
  async request(req: InternalRequest, timeoutMs = 30_000): Promise<ResFrame> {
    const rid = this.nextRid++;
    this.ws.send(JSON.stringify({ t: 'req', rid, ...req }));
    const res = await this.until(() => this.frames.find((f) => f.t === 'res' && f.rid === rid) ?? (this.closed ? 'closed' : undefined), timeoutMs, `no res for rid ${rid}`);
    if (res === 'closed') throw new LinkClosed(rid);
    return res as ResFrame;
  }

  /** Send a request and return its result; throws with the error code when it fails. */
  async call<T = any>(req: InternalRequest): Promise<T> {
    const res = await this.request(req);
    if (!res.ok) throw new Error(`${res.code}: ${res.message}`);
    return res.result as T;
  }

  delivers(groupId?: string): DeliverFrame[] {
    return this.frames.filter((f): f is DeliverFrame => f.t === 'deliver' && (groupId === undefined || f.groupId === groupId));
  }

  /** The first received frame matching `pred` (already received or future). */
  async next(pred: (f: LogicToGateFrame) => boolean, timeoutMs = 30_000): Promise<LogicToGateFrame> {
    return this.until(() => this.frames.find(pred), timeoutMs, 'no matching frame');
  }

  /** Wait until `check` returns a value other than undefined/false. */
  async until<T>(check: () => T | undefined | false, timeoutMs = 30_000, what = 'condition not met'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} within ${timeoutMs} ms (gate ${this.gate})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClose(timeoutMs = 30_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, timeoutMs, 'link not closed');
  }

  close(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export class LinkClosed extends Error {
  constructor(readonly rid: number) {
    super(`link closed before the res of rid ${rid}`);
  }
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused: HTTP ${status}`);
  }
}
