/**
 * Pushing stored messages to gates as `deliver` frames: which gate gets which users (one frame
 * per gate), and which connection gets a replay. Only gates linked to this node with the boot id
 * of the device are used; other devices are counted as unroutable (the sweep, login replay and
 * sync cover them later).
 */
import type { ChatMessage } from '../protocol/client-frames.js';
import { MAX_IDS_PER_FRAME, type PushPath } from '../protocol/internal-frames.js';
import type { Device } from '../presence/presence.js';
import type { GateLink, GateLinks } from './gate-links.js';
import type { LogicMetrics } from './logic-metrics.js';

export interface Routes<L> {
  /** Users to deliver to, per link (each user once per link, in first-seen order). */
  byLink: Map<L, string[]>;
  /** Users with at least one routable device. */
  recipients: number;
  /** Devices whose gate has no live link here (or a link of another boot). */
  unroutable: number;
}

/** Group online devices by the link of their gate. Pure. */
export function routeDevices<L>(devices: ReadonlyMap<string, readonly Device[]>, linkFor: (gate: string, boot: string) => L | undefined): Routes<L> {
  const byLink = new Map<L, string[]>();
  let recipients = 0;
  let unroutable = 0;
  for (const [userId, list] of devices) {
    // Most users have one device, a few several: the links already taken for this user are
    // found in a short array (no Set per user on every message).
    let first: L | undefined;
    let more = null as L[] | null;
    for (const d of list) {
      const link = linkFor(d.gate, d.boot);
      if (link === undefined) {
        unroutable++;
        continue;
      }
      if (first === undefined) first = link;
      else if (link === first || more?.includes(link) === true) continue;
      else (more ??= []).push(link);
      let users = byLink.get(link);
      if (!users) byLink.set(link, (users = []));
      users.push(userId);
    }
    if (first !== undefined) recipients++;
  }
  return { byLink, recipients, unroutable };
}

export class GateDelivery {
  /**
   * The JSON of user lists routed before: a group's routing is reused message after message
   * (route-memo.ts), and so is the serialised list naming its users on each gate. Keyed by the
   * array itself, so an entry goes when its routing is dropped.
   */
  private readonly usersText = new WeakMap<readonly string[], string>();

  constructor(
    private readonly links: GateLinks,
    private readonly metrics: LogicMetrics,
  ) {}

  /**
   * Send `msgs` (one group, ascending seq) to the users' online devices: one frame per gate
   * (split only beyond MAX_IDS_PER_FRAME users). Returns the number of users reached.
   */
  toUsers(groupId: string, msgs: readonly ChatMessage[], devices: ReadonlyMap<string, readonly Device[]>, path: PushPath): number {
    return this.toRoutes(groupId, msgs, this.route(devices), path);
  }

  /** Which users to name to which linked gate (routeDevices over this node's links). */
  route(devices: ReadonlyMap<string, readonly Device[]>): Routes<GateLink> {
    return routeDevices(devices, (gate, boot) => this.links.forDevice(gate, boot));
  }

  /** Changes whenever a gate link is added or removed (routes computed before are then out of date). */
  get linksGeneration(): number {
    return this.links.generation;
  }

  /** `toUsers` with the routing already done (`route`, possibly for an earlier message). Returns the number of users reached. */
  toRoutes(groupId: string, msgs: readonly ChatMessage[], routes: Routes<GateLink>, path: PushPath): number {
    if (msgs.length === 0) return 0;
    if (routes.unroutable > 0) this.metrics.fanoutSkipped.inc({ reason: 'no_link' }, routes.unroutable);
    let reached = 0;
    let dropped = 0;
    // The frames differ only in their users: the rest is serialised once per batch.
    const head = `{"t":"deliver","path":${JSON.stringify(path)},"groupId":${JSON.stringify(groupId)},"msgs":${JSON.stringify(msgs)},"users":`;
    // Every gate's frame is written before the first gate is woken by its own: the first gate
    // woken could otherwise take the core before the next frame is even written.
    for (const link of routes.byLink.keys()) link.hold();
    try {
      for (const [link, users] of routes.byLink) {
        for (let i = 0; i < users.length; i += MAX_IDS_PER_FRAME) {
          const part = users.length <= MAX_IDS_PER_FRAME ? users : users.slice(i, i + MAX_IDS_PER_FRAME);
          if (link.sendDroppable(`${head}${this.usersJson(part)}}`)) reached += part.length;
          else dropped += part.length;
        }
      }
    } finally {
      for (const link of routes.byLink.keys()) link.release();
    }
    if (dropped > 0) this.metrics.fanoutSkipped.inc({ reason: 'slow_link' }, dropped);
    if (reached > 0) this.metrics.deliveries.inc({ path }, reached * msgs.length);
    return reached;
  }

  private usersJson(users: readonly string[]): string {
    let text = this.usersText.get(users);
    if (text === undefined) {
      text = JSON.stringify(users);
      this.usersText.set(users, text);
    }
    return text;
  }

  /** Send `msgs` to one connection on `link` in frames of at most `chunk` messages, waiting for each write. */
  async toConnection(link: GateLink, connId: string, groupId: string, msgs: readonly ChatMessage[], chunk: number, path: PushPath): Promise<number> {
    let sent = 0;
    for (let i = 0; i < msgs.length; i += chunk) {
      const part = msgs.slice(i, i + chunk);
      if (!(await link.sendFlushed({ t: 'deliver', groupId, msgs: part, conns: [connId], path }))) break;
      sent += part.length;
    }
    if (sent > 0) this.metrics.deliveries.inc({ path }, sent);
    return sent;
  }
}
