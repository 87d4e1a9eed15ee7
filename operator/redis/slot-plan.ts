/**
 * Slot ops of one step, for a stable cluster (the planner checks that): slots nobody serves are
 * given to the keepers up to their targets (an interrupted bootstrap), otherwise — when every
 * voter reports cluster_state:ok (`serving`) — one bounded move towards the even spread of
 * slot-balance.ts. Pure.
 */
import type { ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp } from './lifecycle-ops.js';
import type { ReachablePod } from './pod-observation.js';
import { nextSlotMove, slotTargets, type SlotHolder } from './slot-balance.js';
import { formatSlotRanges, slotRangesWhere, type SlotRange } from '../../runtime/redis-cluster/slot-ranges.js';

export function planSlots(picture: ClusterPicture, keepers: readonly ReachablePod[], slotsPerStep: number, serving: boolean): LifecycleOp[] {
  if (keepers.length === 0) return [];
  const holders: SlotHolder[] = [...picture.nodes.values()]
    .filter((n) => n.slotCount > 0)
    .map((n) => ({ id: n.id, ordinal: picture.podOfId.get(n.id)?.pod.ordinal ?? Number.MAX_SAFE_INTEGER, slots: n.slots, slotCount: n.slotCount }));
  const keeperRefs = keepers.map((k) => ({ id: k.me.id, ordinal: k.pod.ordinal }));

  if (picture.slotMap.uncovered.length > 0) return planCover(picture, keepers, holders);
  if (!serving) return [];

  const move = nextSlotMove(holders, keeperRefs, slotsPerStep);
  if (!move) return [];
  const from = picture.podOfId.get(move.from);
  const to = picture.podOfId.get(move.to);
  if (!from || !to) return [];
  const others = picture.reachable.filter((o) => o.me.role === 'master' && o !== from && o !== to).map((o) => o.addr);
  return [
    {
      kind: 'migrate',
      from: { addr: from.addr, id: from.me.id, pod: from.pod.name },
      to: { addr: to.addr, id: to.me.id, pod: to.pod.name },
      slots: move.slots,
      others,
      remaining: move.remaining,
      message: `moving ${move.slots.length} slots from ${from.pod.name} to ${to.pod.name} (${move.remaining} to move in all)`,
    },
  ];
}

/** Uncovered slots, in ascending order, to the keepers (by ordinal) up to their targets. */
function planCover(picture: ClusterPicture, keepers: readonly ReachablePod[], holders: readonly SlotHolder[]): LifecycleOp[] {
  const targets = slotTargets(keepers.map((k) => ({ id: k.me.id, ordinal: k.pod.ordinal })));
  const deficit = keepers.map((k) => Math.max(0, (targets.get(k.me.id) ?? 0) - (holders.find((h) => h.id === k.me.id)?.slotCount ?? 0)));
  const owner = new Int32Array(16384).fill(-1);
  let k = 0;
  for (const r of picture.slotMap.uncovered) {
    for (let s = r.start; s <= r.end; s++) {
      while (k < keepers.length - 1 && (deficit[k] ?? 0) <= 0) k++;
      owner[s] = k;
      deficit[k] = (deficit[k] ?? 0) - 1;
    }
  }
  const ops: LifecycleOp[] = [];
  keepers.forEach((keeper, i) => {
    const ranges: SlotRange[] = slotRangesWhere((s) => owner[s] === i);
    if (ranges.length === 0) return;
    ops.push({ kind: 'assign-slots', at: { addr: keeper.addr, pod: keeper.pod.name }, ranges, message: `${keeper.pod.name} serves slots nobody served: ${formatSlotRanges(ranges.slice(0, 4))}${ranges.length > 4 ? ', …' : ''}` });
  });
  return ops;
}
