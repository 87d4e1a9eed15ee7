/**
 * A bounded in-memory cache with a TTL: at most `maxEntries` entries and about `maxBytes` bytes
 * (each entry's size is estimated by `sizeOf`). Pure data structure: the clock is injected.
 *
 * - `get` answers hit (stored less than ttlMs ago), stale (stored, but ttlMs or longer ago: the
 *   entry is dropped and the caller reads again) or miss (not stored).
 * - Replacement is least-recently-used, approximated by CLOCK (second chance) over a linked queue
 *   in insertion order: a hit only sets a flag on the entry, so a lookup of 10,000 members costs
 *   10,000 map reads and no writes; when room is needed, the entry at the head is evicted unless
 *   it was used since it was last considered, in which case it is unlinked and appended to the
 *   tail once (O(1), no map write) and the next one is tried.
 * - `update` replaces a value in place (a change notice) without renewing its TTL: the TTL counts
 *   from the last full read, so it stays the fallback when a notice is lost.
 *
 * - Entries are keyed by kind and id, one Map per kind: a lookup takes the caller's id string as it
 *   is (a key built per lookup, `kind + ':' + id`, costs a concatenation and hashing a new string:
 *   measured 183–213 ns per member against 28–35 ns with the id itself, 1,000-member lookups in a
 *   200,000-entry map).
 *
 * Ours rather than `lru-cache`, for a measured reason: the logic node looks up every member of a
 * group on every message, and a hit in lru-cache moves the entry in its list. Measured against an
 * adapter over lru-cache 11.5.4 with the same API (TTL from the read time, per-kind counts, 200,000
 * entries, lookups of 10,000-member groups, 2,000 sets at the bound per round, 15 interleaved
 * rounds, medians of two runs on the 2-core development machine): get 267–271 ns per member here
 * against 457–480 ns (≈ 2 ms more CPU per message to a 10,000-member group), a set at the bound
 * 1.3 µs here against 1.5–1.7 µs. (The previous version gave second chances by deleting and
 * re-inserting Map entries: 55 µs per set at the bound, up to 2.2 ms under churn, since V8 scans a
 * Map from the front over deleted slots. The linked queue removed that.)
 */
export type CacheLookup<V> = { state: 'hit'; value: V; storedAtMs: number } | { state: 'stale' } | { state: 'miss' };

const MISS = Object.freeze({ state: 'miss' as const });
const STALE = Object.freeze({ state: 'stale' as const });

export interface TtlLruCacheOptions<V, K extends string> {
  /** Entries stored this long ago or longer are stale. Must be > 0. */
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  /** Approximate bytes held by one entry (its id included). */
  sizeOf(id: string, value: V): number;
  now(): number;
  /** Called once per entry evicted to make room (not for stale or deleted entries). */
  onEvict?(kind: K): void;
}

interface Slot<V, K> {
  id: string;
  value: V;
  kind: K;
  bytes: number;
  storedAtMs: number;
  /** Used since it was stored or last given its second chance. */
  used: boolean;
  /** Neighbours in the eviction queue (head = next to be considered). */
  prev: Slot<V, K> | null;
  next: Slot<V, K> | null;
}

export class TtlLruCache<V, K extends string> {
  /** One map per kind, id → slot. */
  private readonly slots = new Map<K, Map<string, Slot<V, K>>>();
  private readonly counts = new Map<K, number>();
  private entries = 0;
  private totalBytes = 0;
  private head: Slot<V, K> | null = null;
  private tail: Slot<V, K> | null = null;

  constructor(private readonly opts: TtlLruCacheOptions<V, K>) {
    if (!(opts.ttlMs > 0)) throw new RangeError('ttlMs must be positive');
    if (!(opts.maxEntries >= 1) || !(opts.maxBytes >= 1)) throw new RangeError('maxEntries and maxBytes must be at least 1');
  }

  /** `nowMs`: the clock, read once by a caller that looks up many ids. */
  get(kind: K, id: string, nowMs: number = this.opts.now()): CacheLookup<V> {
    const slot = this.slots.get(kind)?.get(id);
    if (!slot) return MISS;
    if (nowMs - slot.storedAtMs >= this.opts.ttlMs) {
      this.remove(slot);
      return STALE;
    }
    slot.used = true;
    return { state: 'hit', value: slot.value, storedAtMs: slot.storedAtMs };
  }

  /** The value if stored and not stale, without counting as a use. */
  peek(kind: K, id: string): V | undefined {
    const slot = this.slots.get(kind)?.get(id);
    if (!slot || this.opts.now() - slot.storedAtMs >= this.opts.ttlMs) return undefined;
    return slot.value;
  }

  /**
   * Store `value`, read from the source at `storedAtMs` (default now), evicting as needed. A value
   * larger than maxBytes on its own is not stored (false).
   */
  set(kind: K, id: string, value: V, storedAtMs: number = this.opts.now()): boolean {
    const bytes = this.opts.sizeOf(id, value);
    let ofKind = this.slots.get(kind);
    const old = ofKind?.get(id);
    if (old) this.remove(old);
    if (bytes > this.opts.maxBytes) return false;
    if (!ofKind) this.slots.set(kind, (ofKind = new Map()));
    const slot: Slot<V, K> = { id, value, kind, bytes, storedAtMs, used: false, prev: null, next: null };
    ofKind.set(id, slot);
    this.entries++;
    this.append(slot);
    this.totalBytes += bytes;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.makeRoom();
    return true;
  }

  /** Replace the value of a stored entry, keeping its TTL; false when it is not stored. */
  update(kind: K, id: string, value: V): boolean {
    const slot = this.slots.get(kind)?.get(id);
    if (!slot) return false;
    const bytes = this.opts.sizeOf(id, value);
    this.totalBytes += bytes - slot.bytes;
    slot.bytes = bytes;
    slot.value = value;
    this.makeRoom();
    return true;
  }

  delete(kind: K, id: string): boolean {
    const slot = this.slots.get(kind)?.get(id);
    if (!slot) return false;
    this.remove(slot);
    return true;
  }

  /** Delete every entry that matches; returns how many. */
  deleteWhere(match: (kind: K, id: string, value: V) => boolean): number {
    let n = 0;
    for (const [kind, ofKind] of this.slots) {
      for (const [id, slot] of ofKind) {
        if (!match(kind, id, slot.value)) continue;
        this.remove(slot);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.entries;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  count(kind: K): number {
    return this.counts.get(kind) ?? 0;
  }

  private remove(slot: Slot<V, K>): void {
    this.slots.get(slot.kind)?.delete(slot.id);
    this.entries--;
    this.unlink(slot);
    this.totalBytes -= slot.bytes;
    this.counts.set(slot.kind, (this.counts.get(slot.kind) ?? 1) - 1);
  }

  private append(slot: Slot<V, K>): void {
    slot.prev = this.tail;
    slot.next = null;
    if (this.tail) this.tail.next = slot;
    else this.head = slot;
    this.tail = slot;
  }

  private unlink(slot: Slot<V, K>): void {
    if (slot.prev) slot.prev.next = slot.next;
    else this.head = slot.next;
    if (slot.next) slot.next.prev = slot.prev;
    else this.tail = slot.prev;
    slot.prev = null;
    slot.next = null;
  }

  private makeRoom(): void {
    // Every entry gets at most one second chance per call, so the loop ends.
    let chances = this.entries;
    while (this.entries > this.opts.maxEntries || this.totalBytes > this.opts.maxBytes) {
      const slot = this.head;
      if (!slot) return;
      if (slot.used && chances > 0) {
        chances--;
        slot.used = false;
        this.unlink(slot);
        this.append(slot);
        continue;
      }
      this.remove(slot);
      this.opts.onEvict?.(slot.kind);
    }
  }
}
