/**
 * The fault suite's checker: it knows every send that a gate acknowledged (`sent` with its seq)
 * and every message each member's client handed to the app (live push, login replay or gap-fill
 * sync — the client library does not say which, and it does not matter: a message counts once it
 * reached the member). At the end, per group and member, the received seqs must be 1..head without
 * a gap and hold every accepted message with the body it was sent with.
 *
 * Receipts per member reuse the benchmark's `SeqReceipts` (a bitmap per member and group).
 */
import { SeqReceipts } from '../../../runtime/bench/seq-receipts.js';

/** Highest seq a fault scenario can reach: bounds each member's receipt bitmap. */
const MAX_SEQ = 1_000_000;

interface Accepted {
  seq: number;
  body: string;
  /** When the send was first written (ms since epoch). */
  startedAt: number;
  ackedAt: number;
}

export interface Verdict {
  /** Sends acknowledged with a seq. */
  accepted: number;
  /** Distinct (member, accepted message) pairs received. */
  delivered: number;
  /** Members × accepted messages of their groups. */
  expected: number;
  /** Accepted messages some online member never received. */
  lost: number;
  /** Messages handed to the app twice (the client library promises each seq once). */
  duplicates: number;
  /** Members whose received seqs are not exactly 1..head of the group. */
  gappedMembers: number;
  /** Acknowledgements that gave a seq another send of the group already had (two messages, one seq). */
  reusedSeqs: number;
  /** Received messages whose body differs from what the accepted send carried. */
  mismatched: number;
  /** Sends that failed for good, by code. */
  rejected: Record<string, number>;
  /** Error codes seen by any client, requests and connection errors alike. */
  codes: Record<string, number>;
}

export class DeliveryChecker {
  private readonly accepted = new Map<string, Accepted[]>();
  private readonly bodies = new Map<string, Map<number, string>>();
  private readonly receipts = new Map<string, Map<string, SeqReceipts>>();
  private readonly rejected = new Map<string, number>();
  private readonly codes = new Map<string, number>();
  private mismatched = 0;

  /** A member of `groupId` whose deliveries are checked. */
  addMember(groupId: string, userId: string): void {
    let members = this.receipts.get(groupId);
    if (!members) this.receipts.set(groupId, (members = new Map()));
    if (!members.has(userId)) members.set(userId, new SeqReceipts(MAX_SEQ));
    if (!this.accepted.has(groupId)) this.accepted.set(groupId, []);
    if (!this.bodies.has(groupId)) this.bodies.set(groupId, new Map());
  }

  get groups(): string[] {
    return [...this.receipts.keys()];
  }

  sent(groupId: string, seq: number, body: string, startedAt: number, ackedAt = Date.now()): void {
    this.accepted.get(groupId)?.push({ seq, body, startedAt, ackedAt });
    this.bodies.get(groupId)?.set(seq, body);
  }

  sendFailed(code: string): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
    this.codeSeen(code);
  }

  codeSeen(code: string): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }

  received(userId: string, groupId: string, seq: number, body: string): void {
    const r = this.receipts.get(groupId)?.get(userId);
    if (!r) return;
    r.mark(seq);
    const want = this.bodies.get(groupId)?.get(seq);
    if (want !== undefined && want !== body) this.mismatched++;
  }

  /** Accepted sends of the group so far. */
  acceptedCount(groupId: string, startedAtOrAfter = 0): number {
    return (this.accepted.get(groupId) ?? []).filter((a) => a.startedAt >= startedAtOrAfter).length;
  }

  /**
   * The first acknowledgement, per group, of a send first written at or after `since`; null for a
   * group that has none yet.
   */
  firstAcceptedSince(since: number): Map<string, number | null> {
    const out = new Map<string, number | null>();
    for (const [g, list] of this.accepted) {
      let first: number | null = null;
      for (const a of list) if (a.startedAt >= since && (first === null || a.ackedAt < first)) first = a.ackedAt;
      out.set(g, first);
    }
    return out;
  }

  /** Whether every member of every group has received 1..heads[group]. */
  caughtUp(heads: ReadonlyMap<string, number>): boolean {
    for (const [g, members] of this.receipts) {
      const head = heads.get(g) ?? 0;
      for (const r of members.values()) if (r.contiguous < head) return false;
    }
    return true;
  }

  /** Members still behind their group's head, for failure messages. */
  behind(heads: ReadonlyMap<string, number>): string[] {
    const out: string[] = [];
    for (const [g, members] of this.receipts) {
      const head = heads.get(g) ?? 0;
      for (const [u, r] of members) if (r.contiguous < head) out.push(`${u}@${g}: ${r.contiguous}/${head} (received ${r.received})`);
    }
    return out;
  }

  /** The verdict once every send has settled; `heads` is each group's last seq (a final marker send). */
  verdict(heads: ReadonlyMap<string, number>): Verdict {
    let accepted = 0;
    let delivered = 0;
    let expected = 0;
    let lost = 0;
    let duplicates = 0;
    let gappedMembers = 0;
    let reusedSeqs = 0;
    for (const [g, members] of this.receipts) {
      const acks = this.accepted.get(g) ?? [];
      const head = heads.get(g) ?? 0;
      accepted += acks.length;
      reusedSeqs += acks.length - new Set(acks.map((a) => a.seq)).size;
      const lostHere = new Set<number>();
      for (const r of members.values()) {
        duplicates += r.duplicates;
        if (r.contiguous !== head || r.received !== head) gappedMembers++;
        expected += acks.length;
        for (const a of acks) {
          if (r.has(a.seq)) delivered++;
          else lostHere.add(a.seq);
        }
      }
      lost += lostHere.size;
    }
    return {
      accepted,
      delivered,
      expected,
      lost,
      duplicates,
      gappedMembers,
      reusedSeqs,
      mismatched: this.mismatched,
      rejected: Object.fromEntries(this.rejected),
      codes: Object.fromEntries(this.codes),
    };
  }
}
