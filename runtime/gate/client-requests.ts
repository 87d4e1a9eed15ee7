/**
 * What each valid client frame does: `send` and `sync` become internal requests routed by group
 * id and are answered with `sent` / `sync.result` (or an error frame with logic's code, or
 * UNAVAILABLE); `ack` becomes a fire-and-forget notice to the group's owner; `ping` is answered
 * with `pong` here. A connection has at most maxSyncsPerConnection syncs in flight; one more is
 * answered RATE_LIMITED (each page is up to the logic's IMGROUP_SYNC_PAGE_BYTES, so this bounds
 * both what one connection makes Redis read at once and what it can pile into its send buffer).
 */
import { type ClientFrame, msgFrame, type SendFrame, type SyncFrame } from '../protocol/client-frames.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { Logger } from '../ops/logger.js';
import type { ClientConnection } from './client-connection.js';
import type { Router } from './router.js';

export interface ClientRequestsOptions {
  defaultSyncLimit: number;
  maxSyncsPerConnection: number;
}

export class ClientRequests {
  constructor(
    private readonly router: Router,
    private readonly opts: ClientRequestsOptions,
    private readonly log: Logger,
  ) {}

  handle(conn: ClientConnection, frame: ClientFrame): void {
    switch (frame.type) {
      case 'ping':
        conn.sendFrame({ type: 'pong' });
        return;
      case 'ack':
        this.router.notify(frame.groupId, { t: 'ack', userId: conn.userId, groupId: frame.groupId, seq: frame.seq });
        return;
      case 'send':
        void this.send(conn, frame);
        return;
      case 'sync':
        void this.sync(conn, frame);
        return;
    }
  }

  private async send(conn: ClientConnection, frame: SendFrame): Promise<void> {
    conn.requestsInFlight++;
    try {
      const r = await this.router.request(frame.groupId, {
        op: 'send',
        userId: conn.userId,
        groupId: frame.groupId,
        clientId: frame.id,
        body: frame.body,
      });
      conn.sendFrame({ type: 'sent', id: frame.id, groupId: frame.groupId, seq: r.seq, ts: r.ts });
    } catch (err) {
      this.fail(conn, frame.id, err);
    } finally {
      conn.requestsInFlight--;
    }
  }

  private async sync(conn: ClientConnection, frame: SyncFrame): Promise<void> {
    const max = this.opts.maxSyncsPerConnection;
    if (conn.syncsInFlight >= max) {
      conn.sendError(frame.id, ErrorCode.RATE_LIMITED, `${max} syncs are already in flight on this connection: wait for a sync.result before sending the next sync`);
      return;
    }
    conn.syncsInFlight++;
    conn.requestsInFlight++;
    try {
      const r = await this.router.request(frame.groupId, {
        op: 'sync',
        userId: conn.userId,
        groupId: frame.groupId,
        afterSeq: frame.afterSeq,
        limit: frame.limit ?? this.opts.defaultSyncLimit,
      });
      conn.sendFrame({ type: 'sync.result', id: frame.id, groupId: frame.groupId, messages: r.messages.map(msgFrame), more: r.more });
    } catch (err) {
      this.fail(conn, frame.id, err);
    } finally {
      conn.syncsInFlight--;
      conn.requestsInFlight--;
    }
  }

  private fail(conn: ClientConnection, id: string, err: unknown): void {
    if (err instanceof ProtocolError) {
      conn.sendError(id, err.code, err.message);
      return;
    }
    this.log.error({ err, connId: conn.connId }, 'request failed unexpectedly');
    conn.sendError(id, ErrorCode.INTERNAL, 'the gate failed to handle the request; retry with the same id');
  }
}
