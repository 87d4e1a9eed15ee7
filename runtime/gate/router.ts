/**
 * Routing of requests to logic nodes: one LogicLink per member of the membership document, and a
 * rendezvous HashRing over the members whose link is up (an unreachable node is absent until it
 * is reachable again). Requests are routed by group id (user id for login), carry a deadline,
 * and are re-sent to the new owner when their node goes down or is removed while they are in
 * flight — every op is idempotent, so a re-send is safe.
 *
 * What logic pushes unasked is emitted: `deliver` (a `deliver` frame and the link it came on,
 * which takes the `missed` notice back) and `ring` (the reachable nodes changed). The router
 * knows nothing of what listens.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { AckNotice, DeliverFrame, InternalOp, InternalRequest, InternalResults, MissedNotice } from '../protocol/internal-frames.js';
import type { MembershipDocument } from '../protocol/membership.js';
import { HashRing } from '../routing/hash-ring.js';
import type { Logger } from '../ops/logger.js';
import type { GateMetrics } from './gate-metrics.js';
import { checkResult } from './internal-results.js';
import { LinkDownError, LogicLink, type LogicLinkOptions } from './logic-link.js';

export interface RouterOptions {
  gateName: string;
  bootId: string;
  internalToken: string;
  requestTimeoutMs: number;
  linkPingMs: number;
  linkReconnectMaxMs: number;
  maxPendingRequests: number;
  maxLinkBufferedBytes: number;
  maxInternalFrameBytes: number;
}

export interface RouterDeps {
  log: Logger;
  metrics: GateMetrics;
}

export interface RouterEvents {
  /** A `deliver` push arrived on `link`. */
  deliver: [frame: DeliverFrame, link: LogicLink];
  /** The set of reachable logic nodes changed. */
  ring: [upIds: readonly string[]];
}

/** Re-sends after a link failure, at most (bounded even when nodes flap). */
const MAX_RESENDS = 3;

type RequestOf<Op extends InternalOp> = Extract<InternalRequest, { op: Op }>;

export class Router extends EventEmitter<RouterEvents> {
  private readonly links = new Map<string, LogicLink>();
  private ring = new HashRing([]);
  private version: string | null = null;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly opts: RouterOptions,
    private readonly deps: RouterDeps,
  ) {
    super();
    this.log = deps.log.child({ component: 'router' });
  }

  /** Version of the applied membership document (null before the first). */
  get membershipVersion(): string | null {
    return this.version;
  }

  get linksUp(): number {
    return this.ring.size;
  }

  /** Requests in flight over all links. */
  get pendingRequests(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.pendingCount;
    return n;
  }

  /** Bytes queued on all links, not yet written to the kernel. */
  get bufferedBytes(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.bufferedBytes;
    return n;
  }

  get upIds(): readonly string[] {
    return this.ring.nodes;
  }

  /**
   * Apply a membership document: open links to new members, re-open links whose URL changed,
   * close links of removed members (their requests in flight are re-sent to the new owners).
   */
  applyMembership(doc: MembershipDocument): void {
    if (this.closed) return;
    const wanted = new Map(doc.members.map((m) => [m.id, m.url]));
    const removed: LogicLink[] = [];
    for (const [id, link] of this.links) {
      if (wanted.get(id) === link.opts.url) continue;
      this.links.delete(id);
      removed.push(link);
    }
    const added: LogicLink[] = [];
    for (const [id, url] of wanted) {
      if (this.links.has(id)) continue;
      const link = new LogicLink(this.linkOptions(id, url), this.linkEvents, this.deps.log);
      this.links.set(id, link);
      added.push(link);
    }
    this.rebuildRing();
    for (const link of removed) link.close();
    for (const link of added) link.start();
    this.deps.metrics.membershipVersion.reset();
    this.deps.metrics.membershipVersion.set({ version: doc.version }, 1);
    this.log.info({ version: doc.version, members: doc.members.length, added: added.length, removed: removed.length }, 'membership applied');
    this.version = doc.version;
  }

  /** The link owning `key` among reachable nodes, or undefined when none is reachable. */
  ownerOf(key: string): LogicLink | undefined {
    const id = this.ring.owner(key);
    return id === undefined ? undefined : this.links.get(id);
  }

  /**
   * Send a request to the owner of `key` and wait for its result. Rejects with ProtocolError:
   * logic's own code, or UNAVAILABLE when no node is reachable or the deadline passes.
   */
  async request<Op extends InternalOp>(key: string, req: RequestOf<Op>, timeoutMs = this.opts.requestTimeoutMs): Promise<InternalResults[Op]> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    const op = req.op as Op;
    let resends = 0;
    let outcome = 'unavailable';
    try {
      for (;;) {
        const link = this.ownerOf(key);
        if (!link) throw new ProtocolError(ErrorCode.UNAVAILABLE, 'no logic node is reachable right now; retry with the same id');
        const remainingMs = Math.ceil(deadline - performance.now());
        if (remainingMs <= 0) throw new ProtocolError(ErrorCode.UNAVAILABLE, `no answer from logic within ${timeoutMs} ms; retry with the same id`);
        try {
          const result = checkResult(op, await link.request(req as InternalRequest, remainingMs));
          outcome = 'ok';
          return result;
        } catch (err) {
          if (!(err instanceof LinkDownError)) throw err;
          if (resends >= MAX_RESENDS) throw new ProtocolError(ErrorCode.UNAVAILABLE, 'logic nodes keep going down; retry with the same id');
          resends++;
          this.deps.metrics.routeRetries.inc({ op });
        }
      }
    } catch (err) {
      if (err instanceof ProtocolError && err.code !== ErrorCode.UNAVAILABLE) outcome = 'error';
      throw err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.INTERNAL, (err as Error).message);
    } finally {
      this.deps.metrics.routeDuration.observe({ op, outcome }, (performance.now() - started) / 1000);
    }
  }

  /** Fire-and-forget notice to the owner of `key`; false when no node is reachable. */
  notify(key: string, frame: AckNotice | MissedNotice): boolean {
    return this.ownerOf(key)?.notify(frame) ?? false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const links = [...this.links.values()];
    this.links.clear();
    this.rebuildRing();
    for (const link of links) link.close();
  }

  private readonly linkEvents = {
    up: (link: LogicLink) => {
      if (this.links.get(link.id) === link) this.rebuildRing();
    },
    down: (link: LogicLink) => {
      if (this.links.get(link.id) === link) this.rebuildRing();
    },
    deliver: (link: LogicLink, frame: DeliverFrame) => this.emit('deliver', frame, link),
  };

  private rebuildRing(): void {
    const up = [...this.links.values()].filter((l) => l.isUp).map((l) => l.id);
    this.ring = new HashRing(up);
    this.deps.metrics.linksUp.set(this.ring.size);
    this.emit('ring', this.ring.nodes);
  }

  private linkOptions(id: string, url: string): LogicLinkOptions {
    return {
      id,
      url,
      gateName: this.opts.gateName,
      bootId: this.opts.bootId,
      internalToken: this.opts.internalToken,
      pingMs: this.opts.linkPingMs,
      reconnectMaxMs: this.opts.linkReconnectMaxMs,
      maxPending: this.opts.maxPendingRequests,
      maxBufferedBytes: this.opts.maxLinkBufferedBytes,
      maxFrameBytes: this.opts.maxInternalFrameBytes,
    };
  }
}
