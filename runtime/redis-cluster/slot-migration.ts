/**
 * Moving one hash slot with its keys from one master to another, the way the Redis Cluster
 * specification prescribes (and redis-cli does):
 *
 *   1. target:  CLUSTER SETSLOT <slot> IMPORTING <source-id>
 *   2. source:  CLUSTER SETSLOT <slot> MIGRATING <target-id>
 *   3. source:  CLUSTER GETKEYSINSLOT + MIGRATE … KEYS, batch after batch, until the slot is empty
 *   4. target, then source, then every other master: CLUSTER SETSLOT <slot> NODE <target-id>
 *
 * Clients keep working throughout (ASK redirections). Every step is idempotent, so a migration
 * interrupted by a crash is finished by running it again with the same arguments.
 */
import { ClusterAdminError } from './cluster-admin-error.js';
import type { RedisNodeCommands } from './node-commands.js';
import { formatAddr, resolveIp, type Addr } from './redis-addr.js';
import { isSlot } from './slot-ranges.js';

export interface MigrateSlotOptions {
  /** Keys fetched (GETKEYSINSLOT) and moved (one MIGRATE) per batch. Default 100. */
  keysPerBatch?: number;
  /** MIGRATE's own timeout for one batch, in ms. Default 5000. */
  migrateTimeoutMs?: number;
  /** Overwrite keys that already exist on the target; otherwise such a key stops the move (BUSYKEY). */
  replace?: boolean;
  /** Upper bound on batches (a slot keeps receiving writes while it moves). Default 100000. */
  maxBatches?: number;
  /** AUTH for MIGRATE's connection to the target; the admin passes its own password. */
  password?: string | undefined;
}

export interface MigrateSlotResult {
  keysMoved: number;
  batches: number;
  /** The target already served the slot; only the final SETSLOT NODE broadcast was repeated. */
  alreadyMoved: boolean;
}

export async function migrateSlot(admin: RedisNodeCommands, slot: number, from: Addr, to: Addr, opts: MigrateSlotOptions = {}): Promise<MigrateSlotResult> {
  if (!isSlot(slot)) throw new ClusterAdminError('INVALID', `slot ${slot} is not an integer 0..16383`);
  const [src, dst, view, targetView] = await Promise.all([admin.myself(from), admin.myself(to), admin.nodes(from), admin.nodes(to)]);
  if (src.id === dst.id) throw new ClusterAdminError('INVALID', `cannot migrate slot ${slot} from ${formatAddr(from)} to itself`);
  if (src.role !== 'master' || dst.role !== 'master') throw new ClusterAdminError('INVALID', `slot ${slot} can only move between masters (${formatAddr(from)} is ${src.role}, ${formatAddr(to)} is ${dst.role})`);
  const ownerIn = (nodes: typeof view.nodes) => nodes.find((n) => n.slots.some((r) => r.start <= slot && slot <= r.end));
  const owner = ownerIn(view.nodes);
  // The target learns it owns the slot first (step 4), so its view decides whether we got that far.
  const alreadyMoved = owner?.id === dst.id || ownerIn(targetView.nodes)?.id === dst.id;
  if (!alreadyMoved && owner?.id !== src.id) {
    throw new ClusterAdminError('INVALID', `slot ${slot} is served by ${owner ? `${owner.host}:${owner.port}` : 'nobody'}, not by ${formatAddr(from)}`);
  }

  let moved = { keysMoved: 0, batches: 0 };
  if (!alreadyMoved) {
    if (!dst.importing.some((i) => i.slot === slot && i.from === src.id)) await admin.setSlot(to, slot, 'importing', src.id);
    if (!src.migrating.some((m) => m.slot === slot && m.to === dst.id)) await admin.setSlot(from, slot, 'migrating', dst.id);
    moved = await moveKeysOfSlot(admin, slot, from, to, opts);
  }
  const others = view.nodes.filter((n) => n.role === 'master' && n.id !== src.id && n.id !== dst.id && n.port > 0 && n.host !== '' && !n.flags.has('fail'));
  await assignSlot(admin, slot, { addr: from, id: src.id }, { addr: to, id: dst.id }, others.map((n) => ({ host: n.host, port: n.port })));
  const { keysMoved, batches } = moved;
  return { keysMoved, batches, alreadyMoved };
}

/** One end of a slot move whose node id the caller already knows. */
export interface SlotEnd {
  addr: Addr;
  id: string;
}

/**
 * Move one slot from `from` (which serves it) to `to`, both masters with known ids, without
 * looking anything up first: the cheap path for moving many slots in a row (the operator's
 * rebalancing). `others` are the remaining masters, told the new owner at the end (best effort;
 * gossip tells them anyway). Same steps and the same idempotence as migrateSlot.
 */
export async function moveSlot(admin: RedisNodeCommands, slot: number, from: SlotEnd, to: SlotEnd, others: readonly Addr[], opts: MigrateSlotOptions = {}): Promise<{ keysMoved: number; batches: number }> {
  if (!isSlot(slot)) throw new ClusterAdminError('INVALID', `slot ${slot} is not an integer 0..16383`);
  if (from.id === to.id) throw new ClusterAdminError('INVALID', `cannot migrate slot ${slot} from ${formatAddr(from.addr)} to itself`);
  await admin.setSlot(to.addr, slot, 'importing', from.id);
  await admin.setSlot(from.addr, slot, 'migrating', to.id);
  const moved = await moveKeysOfSlot(admin, slot, from.addr, to.addr, opts);
  await assignSlot(admin, slot, from, to, others);
  return moved;
}

/** GETKEYSINSLOT + MIGRATE … KEYS, batch after batch, until the source has no key of the slot left. */
async function moveKeysOfSlot(admin: RedisNodeCommands, slot: number, from: Addr, to: Addr, opts: MigrateSlotOptions): Promise<{ keysMoved: number; batches: number }> {
  const keysPerBatch = opts.keysPerBatch ?? 100;
  const maxBatches = opts.maxBatches ?? 100_000;
  const ip = await resolveIp(to.host);
  const auth = opts.password ? ['AUTH', opts.password] : [];
  let keysMoved = 0;
  let batches = 0;
  for (;;) {
    const keys = await admin.commandBuffer(from, 'cluster', 'getkeysinslot', slot, keysPerBatch);
    if (!Array.isArray(keys) || !keys.every((k) => Buffer.isBuffer(k))) {
      throw new ClusterAdminError('BAD_REPLY', `${formatAddr(from)}: CLUSTER GETKEYSINSLOT did not answer a list of keys`);
    }
    if (keys.length === 0) return { keysMoved, batches };
    if (++batches > maxBatches) throw new ClusterAdminError('TIMEOUT', `slot ${slot} still has keys after ${maxBatches} batches of ${keysPerBatch}`);
    try {
      await admin.command(from, 'migrate', ip, to.port, '', 0, opts.migrateTimeoutMs ?? 5000, ...(opts.replace ? ['REPLACE'] : []), ...auth, 'KEYS', ...(keys as Buffer[]));
    } catch (err) {
      if (err instanceof ClusterAdminError && /BUSYKEY/.test(err.message)) {
        throw new ClusterAdminError('INVALID', `slot ${slot}: ${formatAddr(to)} already holds one of the keys being moved; pass replace: true to overwrite it`, { cause: err });
      }
      throw err;
    }
    keysMoved += keys.length;
  }
}

/** SETSLOT NODE on the target first, then the source, then (best effort) every other master. */
async function assignSlot(admin: RedisNodeCommands, slot: number, from: SlotEnd, to: SlotEnd, others: readonly Addr[]): Promise<void> {
  await admin.setSlot(to.addr, slot, 'node', to.id);
  await admin.setSlot(from.addr, slot, 'node', to.id).catch((err: unknown) => {
    // A source that just gave away its last slot turns itself into a replica of the new owner
    // (cluster-allow-replica-migration): it knows the new owner already.
    if (err instanceof ClusterAdminError && /only with masters/i.test(err.message)) return;
    throw err;
  });
  await Promise.all(others.map((a) => admin.setSlot(a, slot, 'node', to.id).catch(() => undefined /* learnt from gossip instead */)));
}
