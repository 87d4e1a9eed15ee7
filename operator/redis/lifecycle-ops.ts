/**
 * The actions a lifecycle step may take, as data: the planner (lifecycle-plan.ts) decides them
 * from a ClusterPicture, the engine (redis-lifecycle.ts) carries them out in order. Every op
 * carries the message that becomes its Event.
 */
import type { ClusterPlan } from '../../runtime/redis-cluster/cluster-plan.js';
import type { Addr } from '../../runtime/redis-cluster/redis-addr.js';
import type { SlotEnd } from '../../runtime/redis-cluster/slot-migration.js';
import type { SlotRange } from '../../runtime/redis-cluster/slot-ranges.js';

/** A node the op talks to: its pod's address and name. */
export interface OpNode {
  addr: Addr;
  pod: string;
}

export type OpenSlotFix =
  /** Move the slot's remaining keys from its owner to the importing node and give it the slot. */
  | { type: 'finish'; slot: number; from: OpNode; to: OpNode }
  /** Clear a migrating/importing mark (`onlyIfEmpty`: unless the node holds keys of the slot). */
  | { type: 'stable'; slot: number; at: OpNode; onlyIfEmpty: boolean }
  /** SETSLOT NODE <self> on the node: it serves the slot (it imports a slot nobody serves, or owns it already). */
  | { type: 'claim'; slot: number; at: OpNode; id: string };

export type LifecycleOp =
  | { kind: 'bootstrap'; plan: ClusterPlan; message: string }
  | { kind: 'meet'; at: OpNode; target: Addr & { busPort: number | null }; message: string }
  | { kind: 'replicate'; at: OpNode; masterId: string; message: string }
  | { kind: 'fix-open-slot'; fix: OpenSlotFix; message: string }
  | { kind: 'forget'; id: string; at: OpNode[]; message: string }
  | { kind: 'failover'; at: OpNode; message: string }
  | { kind: 'reset'; at: OpNode; message: string }
  | { kind: 'assign-slots'; at: OpNode; ranges: SlotRange[]; message: string }
  | {
      kind: 'migrate';
      from: SlotEnd & { pod: string };
      to: SlotEnd & { pod: string };
      /** In the order to move them. */
      slots: number[];
      /** Other masters, told each new owner (best effort). */
      others: Addr[];
      /** Slots that had to move in total before this op. */
      remaining: number;
      message: string;
    };
