/**
 * The slot map as one node sees it: which master serves each of the 16384 slots. Built from a
 * parsed `CLUSTER NODES` view; used to check coverage (every slot served) and agreement (every
 * node sees the same map) without trusting the view to be consistent.
 */
import type { ClusterNodeRecord } from './cluster-nodes.js';
import { SLOT_COUNT, normalizeSlotRanges, slotRangesWhere, formatSlotRanges, type SlotRange } from './slot-ranges.js';

export interface SlotMap {
  /** Number of slots served by exactly one master. */
  covered: number;
  /** Slots nobody serves. */
  uncovered: SlotRange[];
  /** Slots claimed by more than one node in this view (should never happen; untrusted input). */
  conflicting: SlotRange[];
  /** Master id → its slots (normalised), only masters that serve at least one slot. */
  owners: Map<string, SlotRange[]>;
  /**
   * Canonical text of the map (`id:ranges;…` sorted by first slot). Two views agree on the slot
   * map exactly when their signatures are equal.
   */
  signature: string;
}

export function slotMapOf(nodes: readonly ClusterNodeRecord[]): SlotMap {
  const owner = new Array<number>(SLOT_COUNT).fill(-1);
  const conflict = new Uint8Array(SLOT_COUNT);
  nodes.forEach((node, index) => {
    for (const r of node.slots) {
      for (let s = r.start; s <= r.end; s++) {
        if (owner[s] === -1) owner[s] = index;
        else if (owner[s] !== index) conflict[s] = 1;
      }
    }
  });
  const owners = new Map<string, SlotRange[]>();
  nodes.forEach((node, index) => {
    if (node.slots.length === 0) return;
    const mine = slotRangesWhere((s) => owner[s] === index && conflict[s] === 0);
    if (mine.length > 0) owners.set(node.id, normalizeSlotRanges(mine));
  });
  const uncovered = slotRangesWhere((s) => owner[s] === -1);
  const conflicting = slotRangesWhere((s) => conflict[s] === 1);
  let covered = 0;
  for (let s = 0; s < SLOT_COUNT; s++) if (owner[s] !== -1 && conflict[s] === 0) covered++;
  const signature = [...owners.entries()]
    .sort((a, b) => (a[1][0]?.start ?? 0) - (b[1][0]?.start ?? 0))
    .map(([id, ranges]) => `${id}:${formatSlotRanges(ranges)}`)
    .join(';');
  return { covered, uncovered, conflicting, owners, signature };
}
