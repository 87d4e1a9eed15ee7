/**
 * The Redis key layout, defined once. Every key of one group shares the hash tag `{g:<groupId>}`
 * and every key of one user shares `{u:<userId>}`, so multi-key scripts stay inside one slot.
 *
 * Group keys:
 *   im:{g:G}:seq          string  last assigned seq (INCR; never expires, so seqs never restart)
 *   im:{g:G}:log          stream  the group log; entry id `<seq>-1`, fields f (from), b (body), t (ts ms)
 *   im:{g:G}:members      set     member user ids
 *   im:{g:G}:cursors      hash    member userId → highest acknowledged seq (same slot as the members,
 *                                 so "only members, only forward" is one script)
 *   im:{g:G}:idem:<n>:<U>:<C> string "<seq>:<ts>" for client message id C of user U, n = length of U
 *                         (the length makes the key unambiguous: ids may contain ':') (idempotency window)
 * User keys:
 *   im:{u:U}:groups       set     ids of the groups U is a member of
 *   im:{u:U}:presence     hash    connId → "<gate name>|<gate boot id>" (one field per device)
 * Gate keys:
 *   im:gate:{<gate>}      string  boot id of the live gate process, PX = presence TTL (heartbeat-refreshed)
 *   im:gates              set     names of gates that ever registered (pruned by readers)
 * Pub/sub (sharded), a fixed set of B bucket channels (B = IMGROUP_PRESENCE_CHANNELS, the same on
 * every gate and logic node; see runtime/presence/presence-channels.ts):
 *   im:presence:{b<k>}    channel presence changes of the users with bucket k = fnv1a(userId) mod B
 *   im:members:{b<k>}     channel member-list changes of the groups with bucket k = fnv1a(groupId) mod B
 */

export const keys = {
  groupSeq: (groupId: string) => `im:{g:${groupId}}:seq`,
  groupLog: (groupId: string) => `im:{g:${groupId}}:log`,
  groupMembers: (groupId: string) => `im:{g:${groupId}}:members`,
  groupCursors: (groupId: string) => `im:{g:${groupId}}:cursors`,
  groupIdempotency: (groupId: string, userId: string, clientId: string) => `im:{g:${groupId}}:idem:${userId.length}:${userId}:${clientId}`,
  userGroups: (userId: string) => `im:{u:${userId}}:groups`,
  userPresence: (userId: string) => `im:{u:${userId}}:presence`,
  gateAlive: (gate: string) => `im:gate:{${gate}}`,
  gates: () => 'im:gates',
  presenceChannel: (bucket: number) => `im:presence:{b${bucket}}`,
  membersChannel: (bucket: number) => `im:members:{b${bucket}}`,
} as const;

/** Stream entry id of a seq: `<seq>-1` (the `-0` form is reserved by Redis for `0-0`). */
export function streamId(seq: number): string {
  return `${seq}-1`;
}

/** Seq of a stream entry id, or null when the id is not of our form. */
export function seqOfStreamId(id: string): number | null {
  const dash = id.indexOf('-');
  if (dash <= 0) return null;
  const n = Number(id.slice(0, dash));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
