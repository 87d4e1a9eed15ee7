/**
 * Which master a replica should follow, so that one failure does not take a master and its own
 * replica together where the topology allows. The rule, used at bootstrap and whenever a replica
 * has to be (re-)attached:
 *
 *   1. Every master gets ⌊R/M⌋ or ⌈R/M⌉ replicas: a replica goes to one of the masters with the
 *      fewest replicas so far (and never beyond `perMaster`).
 *   2. Among those, the lowest penalty wins:
 *        +4  the replica's failure domain (its Kubernetes node) is the master's;
 *        +2  the master already has a replica in that failure domain;
 *        +1  the ordinals are congruent modulo the master count (replica ordinal ≡ master ordinal,
 *            or ≡ an ordinal of the master's other replicas). A StatefulSet's pods spread over
 *            M nodes in ordinal order put exactly those pods on one node, so this is the guess
 *            when the failure domains are unknown, and a tie-breaker when they are known.
 *   3. Ties go to the next master after the previous choice (round-robin), so the plan is
 *      deterministic.
 *
 * With M=3, one replica each and nothing else known: pod 3 → master 1, pod 4 → master 2,
 * pod 5 → master 0. Existing, valid replicas are never moved for a better placement (no churn).
 * Pure.
 */

export interface PlacementNode {
  /** Anything unique (the node id, or the pod name before ids are known). */
  key: string;
  ordinal: number;
  /** Failure domain (Kubernetes node or zone); null when unknown. */
  domain: string | null;
}

export interface PlacementMaster extends PlacementNode {
  /** Replicas it already has (that stay). */
  replicas: readonly PlacementNode[];
}

export interface Placement {
  replica: string;
  master: string;
}

export const PENALTY_SAME_DOMAIN = 4;
export const PENALTY_DOMAIN_TWICE = 2;
export const PENALTY_SAME_ORDINAL_CLASS = 1;

/** The penalty of `replica` following `master` (see the rule above). */
export function placementPenalty(master: PlacementMaster, replica: PlacementNode, modulo: number): number {
  let p = 0;
  if (replica.domain !== null && replica.domain === master.domain) p += PENALTY_SAME_DOMAIN;
  if (replica.domain !== null && master.replicas.some((r) => r.domain === replica.domain)) p += PENALTY_DOMAIN_TWICE;
  if (modulo > 1) {
    const cls = mod(replica.ordinal, modulo);
    if (mod(master.ordinal, modulo) === cls || master.replicas.some((r) => mod(r.ordinal, modulo) === cls)) p += PENALTY_SAME_ORDINAL_CLASS;
  }
  return p;
}

/**
 * Attach `spares` (in ordinal order) to `masters` (in ordinal order) until every master has
 * `perMaster` replicas; spares left over stay unplaced. `modulo` is the master count of the
 * spec (the ordinal rule's M).
 */
export function placeReplicas(masters: readonly PlacementMaster[], spares: readonly PlacementNode[], perMaster: number, modulo: number): Placement[] {
  const state = masters.map((m) => ({ ...m, replicas: [...m.replicas] }));
  const out: Placement[] = [];
  let cursor = 0;
  for (const spare of [...spares].sort((a, b) => a.ordinal - b.ordinal)) {
    const open = state.filter((m) => m.replicas.length < perMaster);
    if (open.length === 0) break;
    const fewest = Math.min(...open.map((m) => m.replicas.length));
    let best = -1;
    let bestPenalty = Infinity;
    for (let k = 0; k < state.length; k++) {
      const i = (cursor + k) % state.length;
      const m = state[i] as PlacementMaster & { replicas: PlacementNode[] };
      if (m.replicas.length !== fewest || m.replicas.length >= perMaster) continue;
      const p = placementPenalty(m, spare, modulo);
      if (p < bestPenalty) {
        best = i;
        bestPenalty = p;
      }
    }
    const chosen = state[best] as PlacementMaster & { replicas: PlacementNode[] };
    chosen.replicas.push(spare);
    out.push({ replica: spare.key, master: chosen.key });
    cursor = (best + 1) % state.length;
  }
  return out;
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
