/**
 * Hash slots of a Redis Cluster and inclusive ranges of them. A cluster has exactly 16384 slots,
 * numbered 0..16383; each key lives in one (CRC16 of its hash tag, mod 16384).
 */

export const SLOT_COUNT = 16384;
export const MAX_SLOT = SLOT_COUNT - 1;

/** Slots `start..end`, both inclusive, `0 <= start <= end <= 16383`. */
export interface SlotRange {
  start: number;
  end: number;
}

export function isSlot(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_SLOT;
}

export function isSlotRange(r: SlotRange): boolean {
  return isSlot(r.start) && isSlot(r.end) && r.start <= r.end;
}

/**
 * The 16384 slots split into `masters` contiguous ranges whose sizes differ by at most one
 * (the first `16384 % masters` ranges get the extra slot). Throws a RangeError unless
 * `1 <= masters <= 16384`.
 */
export function evenSlotRanges(masters: number): SlotRange[] {
  if (!Number.isInteger(masters) || masters < 1 || masters > SLOT_COUNT) {
    throw new RangeError(`cannot split ${SLOT_COUNT} slots over ${masters} masters: need an integer 1..${SLOT_COUNT}`);
  }
  const base = Math.floor(SLOT_COUNT / masters);
  const extra = SLOT_COUNT % masters;
  const ranges: SlotRange[] = [];
  let start = 0;
  for (let i = 0; i < masters; i++) {
    const size = base + (i < extra ? 1 : 0);
    ranges.push({ start, end: start + size - 1 });
    start += size;
  }
  return ranges;
}

/** Number of slots in the ranges (overlaps counted twice; normalise first if that matters). */
export function countSlots(ranges: readonly SlotRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start + 1;
  return n;
}

/** Sorted, with overlapping and adjacent ranges merged. */
export function normalizeSlotRanges(ranges: readonly SlotRange[]): SlotRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: SlotRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** Ranges of the slots for which `has(slot)` is true, in ascending order. */
export function slotRangesWhere(has: (slot: number) => boolean): SlotRange[] {
  const out: SlotRange[] = [];
  let start = -1;
  for (let slot = 0; slot <= SLOT_COUNT; slot++) {
    const inside = slot < SLOT_COUNT && has(slot);
    if (inside && start < 0) start = slot;
    if (!inside && start >= 0) {
      out.push({ start, end: slot - 1 });
      start = -1;
    }
  }
  return out;
}

/** `0-5460,5461-10922,…` (single slots without a dash), for logs and error messages. */
export function formatSlotRanges(ranges: readonly SlotRange[]): string {
  if (ranges.length === 0) return '(none)';
  return ranges.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(',');
}
