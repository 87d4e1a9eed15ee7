/**
 * Consistent hashing by rendezvous (highest random weight) hashing: a key belongs to the node
 * with the highest score(node, key). Adding a node moves only the keys that node now wins (about
 * 1/(N+1) of them); removing one moves only its own keys; spread is even without virtual nodes.
 * A lookup costs one hash of the key plus one mix per node, fine for the tens of logic nodes a
 * cluster has.
 */

/** 32-bit FNV-1a over UTF-16 code units, finished with the murmur3 avalanche. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** murmur3 fmix32: a bijective avalanche of 32 bits. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class HashRing {
  private readonly ids: string[];
  private readonly seeds: Uint32Array;

  constructor(nodeIds: Iterable<string>) {
    this.ids = [...new Set(nodeIds)].sort();
    this.seeds = Uint32Array.from(this.ids, (id) => hash32(id));
  }

  get size(): number {
    return this.ids.length;
  }

  get nodes(): readonly string[] {
    return this.ids;
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  /** The node that owns `key`, or undefined when the ring is empty. */
  owner(key: string): string | undefined {
    const k = hash32(key);
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < this.seeds.length; i++) {
      const score = mix32((k ^ (this.seeds[i] as number)) + 0x9e3779b9);
      // Ties (rare with 32-bit scores) go to the smaller id: ids are sorted, so keep the first.
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best < 0 ? undefined : this.ids[best];
  }
}
