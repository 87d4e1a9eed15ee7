/**
 * Open slots (migrating/importing) left by an interrupted migration, closed before anything else
 * moves. Finishing is preferred, since keys may already sit on either side; rolling back only
 * ever clears a mark. Per open slot, with `owner` the node serving it in the agreed map:
 *
 * - a migrating mark on a node that is not the owner (the move had finished): cleared (STABLE),
 *   unless that node still holds keys of the slot (then reported, left alone);
 * - an importing mark on the owner itself: SETSLOT NODE <owner> on it (clears the mark);
 * - nobody serves the slot and a master imports it: it claims the slot (SETSLOT NODE <self>);
 * - the owner answers and a master imports the slot (or the owner migrates it to a master that
 *   answers): finish — every remaining key moves with MIGRATE … REPLACE (the source's copy is
 *   the current one), then SETSLOT NODE on target, source and the other masters;
 * - the owner migrates to a node that is gone (unknown, now a replica, or no pod when every pod
 *   answered): rolled back (STABLE on the owner);
 * - the owner or the target is down: wait (reported; the slot stays open, clients get ASK).
 * Further importers of the same slot are cleared when they hold no key of it. Pure.
 */
import { ownerOf, type ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp, OpNode, OpenSlotFix } from './lifecycle-ops.js';
import type { ReachablePod } from './pod-observation.js';
import type { Problem } from './lifecycle-problems.js';

export function planOpenSlotFixes(picture: ClusterPicture, maxFixes: number): { ops: LifecycleOp[]; problems: Problem[] } {
  const ops: LifecycleOp[] = [];
  const problems: Problem[] = [];
  const everyPodAnswered = picture.observations.every((o) => o.error === null);
  const node = (o: ReachablePod): OpNode => ({ addr: o.addr, pod: o.pod.name });
  const add = (fix: OpenSlotFix, message: string) => {
    if (ops.length < maxFixes) ops.push({ kind: 'fix-open-slot', fix, message });
  };

  for (const open of picture.openSlots) {
    const { slot } = open;
    const owner = ownerOf(picture, slot);
    for (const m of open.migrating) {
      if (m.pod.me.id !== owner?.id) add({ type: 'stable', slot, at: node(m.pod), onlyIfEmpty: true }, `slot ${slot}: ${m.pod.pod.name} no longer serves it; clearing its migrating mark`);
    }
    for (const i of open.importing) {
      if (i.pod.me.id === owner?.id) add({ type: 'claim', slot, at: node(i.pod), id: i.pod.me.id }, `slot ${slot}: ${i.pod.pod.name} serves it already; clearing its importing mark`);
    }
    const importers = open.importing.filter((i) => i.pod.me.id !== owner?.id && i.pod.me.role === 'master' && !picture.nodes.get(i.pod.me.id)?.failing).map((i) => i.pod);
    const clearOthers = (kept: ReachablePod | undefined) => {
      for (const p of importers) {
        if (p !== kept) add({ type: 'stable', slot, at: node(p), onlyIfEmpty: true }, `slot ${slot}: ${p.pod.name} imports it too; clearing its mark`);
      }
    };

    if (!owner) {
      const taker = importers[0];
      if (taker) add({ type: 'claim', slot, at: node(taker), id: taker.me.id }, `slot ${slot}: nobody serves it; ${taker.pod.name}, which imports it, takes it`);
      clearOthers(taker);
      continue;
    }
    const source = owner.pod;
    if (!source || owner.failing || source.me.role !== 'master') {
      if (importers.length > 0 || open.migrating.some((m) => m.pod.me.id === owner.id)) {
        problems.push({ level: 'degraded', reason: 'OpenSlotOwnerDown', message: `slot ${slot} is half migrated and its owner ${picture.podOfId.get(owner.id)?.pod.name ?? owner.id.slice(0, 8)} does not answer; waiting` });
      }
      continue;
    }
    const ownMark = open.migrating.find((m) => m.pod === source);
    const target = importers.find((p) => p.me.id === ownMark?.to) ?? importers[0];
    if (target) {
      add({ type: 'finish', slot, from: node(source), to: node(target) }, `slot ${slot}: finishing its interrupted move from ${source.pod.name} to ${target.pod.name}`);
      clearOthers(target);
      continue;
    }
    if (!ownMark) continue;
    const to = picture.nodes.get(ownMark.to);
    if (to?.pod && to.pod.me.role === 'master' && !to.failing) {
      add({ type: 'finish', slot, from: node(source), to: node(to.pod) }, `slot ${slot}: finishing its interrupted move from ${source.pod.name} to ${to.pod.pod.name}`);
      continue;
    }
    const gone = !to || to.record.role === 'replica' || (to.pod !== null && to.pod.me.role !== 'master') || (to.pod === null && everyPodAnswered);
    if (gone) {
      add({ type: 'stable', slot, at: node(source), onlyIfEmpty: false }, `slot ${slot}: the node it was moving to is gone; ${source.pod.name} keeps it (move rolled back)`);
    } else {
      problems.push({ level: 'degraded', reason: 'OpenSlotTargetDown', message: `slot ${slot} is half migrated to node ${ownMark.to.slice(0, 8)}, which does not answer; waiting` });
    }
  }
  return { ops, problems };
}
