/**
 * Who takes part in a benchmark run: groups of fresh users (ids unique to the run, so seqs start
 * at 1 and runs against a shared cluster never mix), the online share of each group, its senders
 * (online members), how many messages each sender sends, and which client worker holds which
 * connection. Pure planning, no I/O.
 */

export interface PopulationSpec {
  /** Prefix of every id of the run (letters, digits, `-`). */
  runId: string;
  groups: number;
  groupSize: number;
  /** Fraction of each group's members that connect, 0 < online ≤ 1. */
  online: number;
  /** Senders per group (online members). */
  senders: number;
}

export interface GroupPlan {
  groupId: string;
  members: string[];
  /** The members that connect (the first ones). */
  online: string[];
  /** Online members that send (the first online ones). */
  senders: string[];
}

/** Online members of a group of `size` at `fraction`: rounded, at least 1. */
export function onlineCount(size: number, fraction: number): number {
  return Math.min(size, Math.max(1, Math.round(size * fraction)));
}

export function groupId(runId: string, g: number): string {
  return `${runId}.g${g}`;
}

export function userId(runId: string, g: number, m: number): string {
  return `${runId}.g${g}.u${m}`;
}

export function buildPopulation(spec: PopulationSpec): GroupPlan[] {
  const online = onlineCount(spec.groupSize, spec.online);
  const senders = Math.min(spec.senders, online);
  return Array.from({ length: spec.groups }, (_, g) => {
    const members = Array.from({ length: spec.groupSize }, (_, m) => userId(spec.runId, g, m));
    const on = members.slice(0, online);
    return { groupId: groupId(spec.runId, g), members, online: on, senders: on.slice(0, senders) };
  });
}

/** `total` split into `parts` near-equal integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  if (parts <= 0) return [];
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

export interface SenderQuota {
  userId: string;
  groupId: string;
  count: number;
}

/** Messages per sender: `total` spread evenly over groups, then over each group's senders. */
export function senderQuotas(groups: readonly GroupPlan[], total: number): SenderQuota[] {
  const perGroup = split(total, groups.length);
  return groups.flatMap((g, i) => split(perGroup[i] as number, g.senders.length).map((count, s) => ({ userId: g.senders[s] as string, groupId: g.groupId, count })));
}

export interface Connection {
  userId: string;
  groupIds: string[];
  /** Index of the gate (or server) URL it connects to. */
  endpoint: number;
}

/**
 * Every online member as one connection, spread round-robin over `endpoints` gates and over
 * `workers` worker processes, independently (so each worker talks to every gate, and senders
 * and receivers of every group are spread too).
 */
export function assignConnections(groups: readonly GroupPlan[], workers: number, endpoints: number): Connection[][] {
  const out: Connection[][] = Array.from({ length: workers }, () => []);
  let i = 0;
  for (const g of groups) {
    for (const u of g.online) {
      (out[i % workers] as Connection[]).push({ userId: u, groupIds: [g.groupId], endpoint: Math.floor(i / workers) % endpoints });
      i++;
    }
  }
  return out;
}
