/**
 * Where a connection's order state gets the messages of a gap (see ConnectionOrder): the
 * connection asks its GapFiller and hands the answer back to its order state. The gate's filler
 * is an internal `sync` request as the connection's user, routed like any other request, with a
 * deadline of its own (IMGROUP_GAP_FILL_TIMEOUT_MS).
 */
import type { Logger } from '../ops/logger.js';
import type { GapRequest } from './delivery-order.js';
import type { GateMetrics } from './gate-metrics.js';
import { type OrderedItem, orderedItem } from './ordered-item.js';
import type { Router } from './router.js';

export interface GapFiller {
  /**
   * The messages of `gap` that `userId` may read, ascending; null when they could not be fetched
   * (the connection then delivers what it holds). Never rejects.
   */
  fetch(userId: string, gap: GapRequest): Promise<readonly OrderedItem[] | null>;
}

export interface RouterGapFillerOptions {
  /** Deadline of one fetch, ms. */
  gapFillTimeoutMs: number;
}

export class RouterGapFiller implements GapFiller {
  private readonly log: Logger;

  constructor(
    private readonly router: Router,
    private readonly metrics: GateMetrics,
    private readonly opts: RouterGapFillerOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'gap-filler' });
  }

  fetch(userId: string, gap: GapRequest): Promise<readonly OrderedItem[] | null> {
    const { groupId, afterSeq, limit } = gap;
    return this.router.request(groupId, { op: 'sync', userId, groupId, afterSeq, limit }, this.opts.gapFillTimeoutMs).then(
      (r) => {
        this.metrics.gapFills.inc({ outcome: 'ok' });
        const last = afterSeq + limit;
        return r.messages.filter((m) => m.groupId === groupId && m.seq > afterSeq && m.seq <= last).map((m) => orderedItem(m, 'gapfill'));
      },
      (err: Error) => {
        this.metrics.gapFills.inc({ outcome: 'failed' });
        this.log.debug({ err: err.message, userId, groupId, afterSeq, limit }, 'gap fill failed; delivering what is held');
        return null;
      },
    );
  }
}
