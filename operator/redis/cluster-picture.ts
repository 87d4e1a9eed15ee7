/**
 * One consistent picture of the cluster, made from what every pod said (pod-observation.ts): the
 * node id of each pod (identity is the node id from nodes.conf, never the IP), every node any
 * member knows, who serves which slot in the map most members agree on, and the open
 * (migrating/importing) slots. Pure; the planners work on this picture only.
 */
import type { ClusterNodeRecord } from '../../runtime/redis-cluster/cluster-nodes.js';
import { isReachable, type PodObservation, type ReachablePod } from './pod-observation.js';
import { SLOT_COUNT, countSlots, type SlotRange } from '../../runtime/redis-cluster/slot-ranges.js';
import { slotMapOf, type SlotMap } from '../../runtime/redis-cluster/slot-map.js';

export interface KnownNode {
  id: string;
  /** The pod this node is, when that pod answered. */
  pod: ReachablePod | null;
  /** Its own record when its pod answered (authoritative for role and master), else a member's view of it. */
  record: ClusterNodeRecord;
  /** Some voter other than itself flags it fail, fail? or noaddr. */
  failing: boolean;
  /** Names of the reachable pods whose CLUSTER NODES lists it (handshakes not counted). */
  knownBy: Set<string>;
  /** Slots it serves in the slot map most members agree on. */
  slots: SlotRange[];
  slotCount: number;
}

export interface OpenSlot {
  slot: number;
  /** Reachable nodes that say they are moving the slot away, and to whom. */
  migrating: Array<{ pod: ReachablePod; to: string }>;
  /** Reachable nodes that say they are receiving the slot, and from whom. */
  importing: Array<{ pod: ReachablePod; from: string }>;
}

export interface ClusterPicture {
  /** Pods the spec asks for: ordinals 0 … desiredPods-1 stay, the others leave. */
  desiredPods: number;
  observations: PodObservation[];
  reachable: ReachablePod[];
  /** Reachable pods that belong to a cluster: they serve slots or know a node that does. */
  members: ReachablePod[];
  /**
   * The members whose word counts: the staying ones (all members when none stays). A leaving
   * node may already be forgotten by the others, so its view no longer decides anything.
   */
  voters: ReachablePod[];
  nodes: Map<string, KnownNode>;
  podOfId: Map<string, ReachablePod>;
  /** The slot map seen by most voters (ties: the lowest ordinal's). */
  slotMap: SlotMap;
  /** Every voter sees the same slot map. */
  agreed: boolean;
  /** Voters whose slot map differs from `slotMap`. */
  dissenters: ReachablePod[];
  /** Some pod serves or knows slots (assigned or open), so bootstrapping is out of the question. */
  anySlots: boolean;
  /** Some reachable pod holds keys. */
  anyKeys: boolean;
  openSlots: OpenSlot[];
}

const BAD_FLAGS = ['fail', 'pfail', 'noaddr'] as const;

export function pictureOf(observations: readonly PodObservation[], desiredPods: number): ClusterPicture {
  const reachable = observations.filter(isReachable).sort((a, b) => a.pod.ordinal - b.pod.ordinal);
  const knowsSlots = (o: ReachablePod) => o.info.slotsAssigned > 0 || o.view.nodes.some((n) => n.slots.length > 0 || n.migrating.length > 0 || n.importing.length > 0);
  const members = reachable.filter(knowsSlots);
  const staying = members.filter((o) => !o.leaving);
  const voters = staying.length > 0 ? staying : members;
  const podOfId = new Map<string, ReachablePod>();
  for (const o of reachable) if (!podOfId.has(o.me.id)) podOfId.set(o.me.id, o);

  const maps = voters.map((o) => slotMapOf(o.view.nodes));
  const bySignature = new Map<string, { count: number; map: SlotMap }>();
  for (const map of maps) {
    const seen = bySignature.get(map.signature);
    if (seen) seen.count++;
    else bySignature.set(map.signature, { count: 1, map });
  }
  let slotMap = slotMapOf([]);
  let best = 0;
  for (const { count, map } of bySignature.values()) {
    if (count > best) {
      best = count;
      slotMap = map;
    }
  }

  const nodes = new Map<string, KnownNode>();
  for (const o of reachable) {
    for (const n of o.view.nodes) {
      if (n.flags.has('handshake')) continue;
      let known = nodes.get(n.id);
      if (!known) {
        known = { id: n.id, pod: null, record: n, failing: false, knownBy: new Set(), slots: [], slotCount: 0 };
        nodes.set(n.id, known);
      }
      known.knownBy.add(o.pod.name);
      const self = n.flags.has('myself');
      if (self) {
        known.pod = podOfId.get(n.id) === o ? o : known.pod;
        known.record = n;
      }
      if (!self && voters.includes(o) && BAD_FLAGS.some((f) => n.flags.has(f))) known.failing = true;
    }
  }
  for (const [id, ranges] of slotMap.owners) {
    const known = nodes.get(id);
    if (!known) continue;
    known.slots = ranges;
    known.slotCount = countSlots(ranges);
  }

  const open = new Map<number, OpenSlot>();
  const openSlot = (slot: number) => {
    let s = open.get(slot);
    if (!s) open.set(slot, (s = { slot, migrating: [], importing: [] }));
    return s;
  };
  for (const o of reachable) {
    for (const m of o.me.migrating) openSlot(m.slot).migrating.push({ pod: o, to: m.to });
    for (const i of o.me.importing) openSlot(i.slot).importing.push({ pod: o, from: i.from });
  }

  return {
    desiredPods,
    observations: [...observations],
    reachable,
    members,
    voters,
    nodes,
    podOfId,
    slotMap,
    agreed: bySignature.size <= 1,
    dissenters: voters.filter((_, i) => (maps[i] as SlotMap).signature !== slotMap.signature),
    anySlots: members.length > 0,
    anyKeys: reachable.some((o) => o.keys > 0),
    openSlots: [...open.values()].sort((a, b) => a.slot - b.slot),
  };
}

/** The master serving `slot` in the picture's slot map, if any. */
export function ownerOf(picture: ClusterPicture, slot: number): KnownNode | undefined {
  for (const [id, ranges] of picture.slotMap.owners) {
    if (ranges.some((r) => r.start <= slot && slot <= r.end)) return picture.nodes.get(id);
  }
  return undefined;
}

/** Slots served in the picture's slot map. */
export function slotsServed(picture: ClusterPicture): number {
  return picture.slotMap.covered;
}

/**
 * A node's name for status and messages: its pod's name; for a node whose pod does not answer,
 * the pod at the node's last known address; else `node <id prefix>`.
 */
export function nameOf(picture: ClusterPicture, id: string): string {
  const pod = picture.podOfId.get(id);
  if (pod) return pod.pod.name;
  const record = picture.nodes.get(id)?.record;
  const at = record ? picture.observations.find((o) => o.error !== null && o.addr !== null && sameAddr(o.addr, record)) : undefined;
  return at ? at.pod.name : `node ${id.slice(0, 8)}`;
}

/** Every slot of the cluster is served in the agreed map. */
export function fullyCovered(picture: ClusterPicture): boolean {
  return picture.slotMap.covered === SLOT_COUNT && picture.slotMap.conflicting.length === 0;
}

/** A node that knows nobody else and serves, opens and holds nothing: new, or reset. */
export function isFresh(o: ReachablePod): boolean {
  return o.view.nodes.length === 1 && o.me.slots.length === 0 && o.me.migrating.length === 0 && o.me.importing.length === 0 && o.keys === 0;
}

/** The pod's node is a member, and every voter knows it by id at the pod's address, unflagged. */
export function isJoined(picture: ClusterPicture, o: ReachablePod): boolean {
  if (!picture.members.includes(o)) return false;
  return picture.voters.every((m) => {
    const entry = m.view.nodes.find((n) => n.id === o.me.id);
    return entry !== undefined && sameAddr(entry, o.addr) && !BAD_FLAGS.some((f) => entry.flags.has(f)) && !entry.flags.has('handshake');
  });
}

export function sameAddr(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.host === b.host && a.port === b.port;
}
