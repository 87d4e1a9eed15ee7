/**
 * The replica side of `INFO replication`: whether a replica's link to its master is up (it could
 * take over) or a full sync is still running. Untrusted input: anything unexpected reads as
 * "not a replica" (null link state), never throws.
 */

export interface ReplicationInfo {
  role: 'master' | 'replica' | 'unknown';
  /** `master_link_status:up` on a replica; null on a master or when absent. */
  linkUp: boolean | null;
  /** `master_sync_in_progress:1`: the replica is loading its first (or a full) copy. */
  syncing: boolean;
  /** `master_link_down_since_seconds`; -1 when the link was never up; null when absent. */
  linkDownSeconds: number | null;
}

const MAX_LINES = 256;

export function parseReplicationInfo(reply: unknown): ReplicationInfo {
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : typeof reply === 'string' ? reply : '';
  const fields = new Map<string, string>();
  for (const raw of text.split('\n').slice(0, MAX_LINES)) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const role = fields.get('role');
  const link = fields.get('master_link_status');
  return {
    role: role === 'master' ? 'master' : role === 'slave' ? 'replica' : 'unknown',
    linkUp: role === 'slave' && (link === 'up' || link === 'down') ? link === 'up' : null,
    syncing: fields.get('master_sync_in_progress') === '1',
    linkDownSeconds: /^-?\d{1,12}$/.test(fields.get('master_link_down_since_seconds') ?? '') ? Number(fields.get('master_link_down_since_seconds')) : null,
  };
}
