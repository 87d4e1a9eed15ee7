/**
 * Metrics of a logic node, registered on an injected Registry (never the global one). Labels are
 * low-cardinality: no user, group, gate or connection ids.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryPath = 'online' | 'offline' | 'sweep';

export interface LogicMetrics {
  /** Send/post outcomes: stored, duplicate, not_member, error. */
  messages: Counter<'result'>;
  /** Messages handed to gates, counted once per recipient (user for online/sweep, connection for offline). */
  deliveries: Counter<'path'>;
  /** Online recipients (users with a live device on a linked gate) per fan-out batch. */
  fanoutRecipients: Histogram;
  /** Fan-out work not done: queue_full (message not queued), no_link (device's gate not linked), slow_link (gate link buffer over its bound), error (Redis failed). */
  fanoutSkipped: Counter<'reason'>;
  gateLinks: Gauge;
  /** Malformed frames from gates. */
  internalFrameErrors: Counter;
  /** Requests by op and outcome code (ok or an error code). */
  requests: Counter<'op' | 'code'>;
  /** Users that a gate reported it had no connection for (stale presence). */
  missedUsers: Counter;
  /** Acks: applied, ignored (bad ids), error. */
  acks: Counter<'result'>;
}

export function createLogicMetrics(registry: Registry): LogicMetrics {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'imgroup_logic_messages_total',
      help: 'Send and post requests by result: stored, duplicate (idempotent retry), not_member, error.',
      labelNames: ['result'],
      registers,
    }),
    deliveries: new Counter({
      name: 'imgroup_logic_deliveries_total',
      help: 'Messages pushed to gates, once per recipient (user for online and sweep, connection for offline), by path.',
      labelNames: ['path'],
      registers,
    }),
    fanoutRecipients: new Histogram({
      name: 'imgroup_logic_fanout_recipients',
      help: 'Online recipients (users) of one fan-out batch.',
      buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
      registers,
    }),
    fanoutSkipped: new Counter({
      name: 'imgroup_logic_fanout_skipped_total',
      help: 'Online fan-out not done (left to the sweep, login replay and sync), by reason: queue_full, no_link, slow_link (per user), error.',
      labelNames: ['reason'],
      registers,
    }),
    gateLinks: new Gauge({
      name: 'imgroup_logic_gate_links',
      help: 'Gates currently linked to this logic node.',
      registers,
    }),
    internalFrameErrors: new Counter({
      name: 'imgroup_logic_internal_frame_errors_total',
      help: 'Malformed frames received from gates.',
      registers,
    }),
    requests: new Counter({
      name: 'imgroup_logic_requests_total',
      help: 'Internal requests by op and outcome (ok or the error code).',
      labelNames: ['op', 'code'],
      registers,
    }),
    missedUsers: new Counter({
      name: 'imgroup_logic_missed_users_total',
      help: 'Users a gate had no connection for when asked to deliver to them (stale presence).',
      registers,
    }),
    acks: new Counter({
      name: 'imgroup_logic_acks_total',
      help: 'Acknowledgements by result: applied, ignored (invalid), error.',
      labelNames: ['result'],
      registers,
    }),
  };
}
