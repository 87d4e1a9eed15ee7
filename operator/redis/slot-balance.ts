/**
 * How the 16384 slots should be spread over the masters, and the next small move towards it.
 * Pure. The rules:
 *
 * - Which masters keep slots ("keepers", `masters` of them): masters on staying pods, those that
 *   serve slots first, then by lowest ordinal. So a scale-out fills the new (highest) ordinals,
 *   a scale-in empties the highest-numbered masters, and a cluster whose roles moved by failover
 *   is left as it is.
 * - Target of a keeper: 16384 / keepers, the first (16384 mod keepers) keepers by ordinal get one
 *   more; everyone else's target is 0.
 * - Balanced: nobody but the keepers serves a slot, and among keepers
 *   max − min ≤ tolerance = max(1, ⌊1% of 16384 / keepers⌋) — e.g. 32 slots with 5 masters,
 *   54 with 3. A balanced cluster is never touched (no churn over a few slots).
 * - Next move (when not balanced): from the node with the largest excess over its target to the
 *   keeper with the largest deficit, min(slotsPerStep, excess, deficit) slots, taken from the
 *   top of the source's highest range. One source/target pair per step.
 */
import { SLOT_COUNT, type SlotRange } from '../../runtime/redis-cluster/slot-ranges.js';

export interface SlotHolder {
  id: string;
  ordinal: number;
  slots: readonly SlotRange[];
  slotCount: number;
}

export interface SlotMove {
  from: string;
  to: string;
  slots: number[];
  /** Slots that still have to move (in total) before this move. */
  remaining: number;
}

/** The `count` keepers among the candidate masters (see the rule above). */
export function chooseKeepers<T extends { slotCount: number; ordinal: number }>(candidates: readonly T[], count: number): T[] {
  return [...candidates].sort((a, b) => Number(b.slotCount > 0) - Number(a.slotCount > 0) || a.ordinal - b.ordinal).slice(0, Math.max(0, count));
}

/** Target slot count per keeper id (keepers in any order; ordinal decides who gets the extra slot). */
export function slotTargets(keepers: ReadonlyArray<{ id: string; ordinal: number }>): Map<string, number> {
  const sorted = [...keepers].sort((a, b) => a.ordinal - b.ordinal);
  const n = sorted.length;
  const targets = new Map<string, number>();
  if (n === 0) return targets;
  const base = Math.floor(SLOT_COUNT / n);
  const extra = SLOT_COUNT % n;
  sorted.forEach((k, i) => targets.set(k.id, base + (i < extra ? 1 : 0)));
  return targets;
}

export function balanceTolerance(keepers: number): number {
  if (keepers <= 0) return 1;
  return Math.max(1, Math.floor(SLOT_COUNT / keepers / 100));
}

/** Slots that have to move before every node is at its target. */
export function slotsToMove(holders: readonly SlotHolder[], targets: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const h of holders) n += Math.max(0, h.slotCount - (targets.get(h.id) ?? 0));
  return n;
}

export function isBalanced(holders: readonly SlotHolder[], keeperIds: ReadonlySet<string>): boolean {
  if (holders.some((h) => !keeperIds.has(h.id) && h.slotCount > 0)) return false;
  const counts = [...keeperIds].map((id) => holders.find((h) => h.id === id)?.slotCount ?? 0);
  if (counts.length === 0) return true;
  return Math.max(...counts) - Math.min(...counts) <= balanceTolerance(counts.length);
}

/** The next move, or null when balanced (or when no keeper could take slots). */
export function nextSlotMove(holders: readonly SlotHolder[], keepers: ReadonlyArray<{ id: string; ordinal: number }>, slotsPerStep: number): SlotMove | null {
  const keeperIds = new Set(keepers.map((k) => k.id));
  const all = [...holders];
  for (const k of keepers) if (!all.some((h) => h.id === k.id)) all.push({ id: k.id, ordinal: k.ordinal, slots: [], slotCount: 0 });
  if (keeperIds.size === 0 || isBalanced(all, keeperIds)) return null;
  const targets = slotTargets(keepers);
  const excess = (h: SlotHolder) => h.slotCount - (targets.get(h.id) ?? 0);
  const byOrdinal = (a: SlotHolder, b: SlotHolder) => a.ordinal - b.ordinal;
  const source = all.filter((h) => excess(h) > 0).sort((a, b) => excess(b) - excess(a) || byOrdinal(a, b))[0];
  const target = all.filter((h) => keeperIds.has(h.id) && excess(h) < 0).sort((a, b) => excess(a) - excess(b) || byOrdinal(a, b))[0];
  if (!source || !target) return null;
  const count = Math.min(Math.max(1, slotsPerStep), excess(source), -excess(target));
  return { from: source.id, to: target.id, slots: topSlots(source.slots, count), remaining: slotsToMove(all, targets) };
}

/** The `count` highest slots of the ranges, highest first. */
export function topSlots(ranges: readonly SlotRange[], count: number): number[] {
  const sorted = [...ranges].sort((a, b) => b.end - a.end);
  const out: number[] = [];
  for (const r of sorted) {
    for (let s = r.end; s >= r.start && out.length < count; s--) out.push(s);
    if (out.length >= count) break;
  }
  return out;
}
