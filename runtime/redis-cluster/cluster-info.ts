/**
 * `CLUSTER INFO` output (`key:value` lines) parsed into the fields the admin acts on. Untrusted
 * input: unknown keys are kept as text, numbers must be non-negative integers, and a reply that
 * does not look like CLUSTER INFO gives `state: 'unknown'` instead of throwing.
 */

export interface ClusterInfo {
  /** `ok` when this node serves requests; `fail` when it sees uncovered slots or is in a minority. */
  state: 'ok' | 'fail' | 'unknown';
  slotsAssigned: number;
  slotsOk: number;
  slotsPfail: number;
  slotsFail: number;
  knownNodes: number;
  /** Masters serving at least one slot. */
  size: number;
  currentEpoch: number;
  myEpoch: number;
  /** Every `key:value` line, verbatim (bounded by the reply's own size). */
  fields: Map<string, string>;
}

const MAX_FIELDS = 256;

export function parseClusterInfo(reply: unknown): ClusterInfo {
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : typeof reply === 'string' ? reply : '';
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    if (fields.size >= MAX_FIELDS) break;
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const int = (key: string): number => {
    const v = fields.get(key);
    if (v === undefined || !/^\d{1,15}$/.test(v)) return 0;
    return Number(v);
  };
  const state = fields.get('cluster_state');
  return {
    state: state === 'ok' || state === 'fail' ? state : 'unknown',
    slotsAssigned: int('cluster_slots_assigned'),
    slotsOk: int('cluster_slots_ok'),
    slotsPfail: int('cluster_slots_pfail'),
    slotsFail: int('cluster_slots_fail'),
    knownNodes: int('cluster_known_nodes'),
    size: int('cluster_size'),
    currentEpoch: int('cluster_current_epoch'),
    myEpoch: int('cluster_my_epoch'),
    fields,
  };
}
