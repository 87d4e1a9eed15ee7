/**
 * `CLUSTER NODES` output parsed into typed records. One line per node known to the answering node:
 *
 *   <id> <ip:port@cport[,hostname[,aux=value…]]> <flags> <master|-> <ping-sent> <pong-recv>
 *   <config-epoch> <link-state> <slot | start-end | [slot->-id] | [slot-<-id]>…
 *
 * The text comes off the wire, so it is untrusted: every number is range-checked (slots
 * 0..16383, ports 1..65535), every id must be 40 hex characters, and a line that does not fit is
 * reported in `rejected` with the reason instead of being half-parsed. Nothing here throws.
 */
import { MAX_SLOT, type SlotRange } from './slot-ranges.js';

export type NodeFlag = 'myself' | 'master' | 'replica' | 'pfail' | 'fail' | 'handshake' | 'noaddr' | 'nofailover';

export interface ClusterNodeRecord {
  /** 40 lowercase hex characters. */
  id: string;
  /** IP as the answering node knows it; '' when unknown (a fresh node's own line, or `noaddr`). */
  host: string;
  /** Client port; 0 only when the node is flagged `noaddr`. */
  port: number;
  /** Cluster bus port; null in the pre-Redis-4 format without `@cport`. */
  busPort: number | null;
  /** Announced hostname (Redis 7+), null when absent or empty. */
  hostname: string | null;
  flags: ReadonlySet<NodeFlag>;
  /** Flags this parser does not know, kept verbatim (e.g. from a newer Redis). */
  otherFlags: readonly string[];
  role: 'master' | 'replica' | 'unknown';
  /** Id of the master this replica follows; null for masters (and replicas of an unknown master). */
  masterId: string | null;
  pingSentMs: number;
  pongRecvMs: number;
  configEpoch: number;
  linkState: 'connected' | 'disconnected';
  /** Slots served, as listed (normalise with normalizeSlotRanges if needed). */
  slots: readonly SlotRange[];
  /** Open slots this node is moving away: `[slot->-targetId]`. */
  migrating: ReadonlyArray<{ slot: number; to: string }>;
  /** Open slots this node is receiving: `[slot-<-sourceId]`. */
  importing: ReadonlyArray<{ slot: number; from: string }>;
}

export interface RejectedLine {
  /** 1-based line number in the reply. */
  lineNo: number;
  line: string;
  reason: string;
}

export interface ClusterNodesView {
  nodes: ClusterNodeRecord[];
  rejected: RejectedLine[];
}

export interface ParseClusterNodesOptions {
  /** Lines after this many are rejected (Redis recommends clusters of at most ~1000 nodes). */
  maxNodes?: number;
  /** Longer lines are rejected before they are split. */
  maxLineChars?: number;
}

const DEFAULT_MAX_NODES = 4096;
const DEFAULT_MAX_LINE_CHARS = 256 * 1024;
const NODE_ID = /^[0-9a-f]{40}$/;
const UINT = /^\d{1,15}$/;
const FLAG_NAMES: Readonly<Record<string, NodeFlag>> = {
  myself: 'myself',
  master: 'master',
  slave: 'replica',
  replica: 'replica',
  'fail?': 'pfail',
  fail: 'fail',
  handshake: 'handshake',
  noaddr: 'noaddr',
  nofailover: 'nofailover',
};

export function isNodeId(s: unknown): boolean {
  return typeof s === 'string' && NODE_ID.test(s);
}

/** Parse a whole `CLUSTER NODES` reply. Anything but a string yields one rejected entry. */
export function parseClusterNodes(reply: unknown, opts: ParseClusterNodesOptions = {}): ClusterNodesView {
  const view: ClusterNodesView = { nodes: [], rejected: [] };
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
  if (typeof text !== 'string') {
    view.rejected.push({ lineNo: 0, line: '', reason: `reply is ${typeof reply}, not text` });
    return view;
  }
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;
  const maxLineChars = opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const lineNo = i + 1;
    const reject = (reason: string) => view.rejected.push({ lineNo, line: line.slice(0, 200), reason });
    if (line.length > maxLineChars) {
      reject(`line longer than ${maxLineChars} characters`);
      continue;
    }
    if (view.nodes.length >= maxNodes) {
      reject(`more than ${maxNodes} nodes`);
      continue;
    }
    const parsed = parseClusterNodeLine(line);
    if (typeof parsed === 'string') {
      reject(parsed);
      continue;
    }
    if (seen.has(parsed.id)) {
      reject(`duplicate node id ${parsed.id}`);
      continue;
    }
    seen.add(parsed.id);
    view.nodes.push(parsed);
  }
  return view;
}

/** One line, or the reason it was rejected. */
export function parseClusterNodeLine(line: string): ClusterNodeRecord | string {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 8) return `expected at least 8 fields, got ${fields.length}`;
  const [id, address, flagList, master, pingSent, pongRecv, epoch, link] = fields as [string, string, string, string, string, string, string, string];
  if (!isNodeId(id)) return `node id ${JSON.stringify(id.slice(0, 60))} is not 40 hex characters`;

  const flags = new Set<NodeFlag>();
  const otherFlags: string[] = [];
  for (const f of flagList.split(',')) {
    const known = FLAG_NAMES[f];
    if (known) flags.add(known);
    else if (f !== 'noflags' && f !== '') otherFlags.push(f);
  }
  if (flags.has('master') && flags.has('replica')) return 'node flagged both master and slave';

  const addr = parseNodeAddress(address, flags.has('noaddr'));
  if (typeof addr === 'string') return addr;

  let masterId: string | null = null;
  if (master !== '-') {
    if (!isNodeId(master)) return `master id ${JSON.stringify(master.slice(0, 60))} is neither '-' nor 40 hex characters`;
    masterId = master;
  }

  const numbers = [pingSent, pongRecv, epoch].map((s) => (UINT.test(s) ? Number(s) : NaN));
  if (numbers.some((n) => !Number.isSafeInteger(n))) return 'ping-sent, pong-recv and config-epoch must be non-negative integers';
  if (link !== 'connected' && link !== 'disconnected') return `link state ${JSON.stringify(link.slice(0, 30))} is neither connected nor disconnected`;

  const slots: SlotRange[] = [];
  const migrating: { slot: number; to: string }[] = [];
  const importing: { slot: number; from: string }[] = [];
  for (const token of fields.slice(8)) {
    const open = parseOpenSlot(token);
    if (open) {
      if (typeof open === 'string') return open;
      if (open.kind === 'migrating') migrating.push({ slot: open.slot, to: open.peer });
      else importing.push({ slot: open.slot, from: open.peer });
      continue;
    }
    const range = parseSlotRange(token);
    if (typeof range === 'string') return range;
    slots.push(range);
  }

  return {
    id,
    ...addr,
    flags,
    otherFlags,
    role: flags.has('master') ? 'master' : flags.has('replica') ? 'replica' : 'unknown',
    masterId,
    pingSentMs: numbers[0] as number,
    pongRecvMs: numbers[1] as number,
    configEpoch: numbers[2] as number,
    linkState: link,
    slots,
    migrating,
    importing,
  };
}

type NodeAddress = Pick<ClusterNodeRecord, 'host' | 'port' | 'busPort' | 'hostname'>;

/** `ip:port@cport[,hostname[,aux=value…]]`; the IP may be IPv6 (split at the last colon). */
function parseNodeAddress(field: string, noaddr: boolean): NodeAddress | string {
  const [hostPort, hostnameField] = field.split(',') as [string, string | undefined];
  const at = hostPort.indexOf('@');
  const ipPort = at >= 0 ? hostPort.slice(0, at) : hostPort;
  const colon = ipPort.lastIndexOf(':');
  if (colon < 0) return `address ${JSON.stringify(field.slice(0, 80))} has no port`;
  const host = ipPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = parsePort(ipPort.slice(colon + 1), noaddr);
  if (port === null) return `address ${JSON.stringify(field.slice(0, 80))}: port must be 1..65535`;
  let busPort: number | null = null;
  if (at >= 0) {
    busPort = parsePort(hostPort.slice(at + 1), noaddr);
    if (busPort === null) return `address ${JSON.stringify(field.slice(0, 80))}: bus port must be 1..65535`;
  }
  if (!/^[0-9A-Za-z.:%_-]*$/.test(host)) return `address ${JSON.stringify(field.slice(0, 80))}: bad IP`;
  const hostname = hostnameField && !hostnameField.includes('=') ? hostnameField : null;
  return { host, port, busPort, hostname };
}

/** A port 1..65535; 0 is accepted only for nodes flagged `noaddr` (Redis prints `:0@0`). */
function parsePort(s: string, allowZero: boolean): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  if (n === 0 && allowZero) return 0;
  return n >= 1 && n <= 65535 ? n : null;
}

function parseSlot(s: string): number | null {
  if (!/^\d{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_SLOT ? n : null;
}

function parseSlotRange(token: string): SlotRange | string {
  const dash = token.indexOf('-');
  const start = parseSlot(dash < 0 ? token : token.slice(0, dash));
  const end = dash < 0 ? start : parseSlot(token.slice(dash + 1));
  if (start === null || end === null) return `slot ${JSON.stringify(token.slice(0, 40))} is not a slot or range within 0..${MAX_SLOT}`;
  if (start > end) return `slot range ${token} ends before it starts`;
  return { start, end };
}

/** `[slot->-id]` (migrating) or `[slot-<-id]` (importing); null when the token is not bracketed. */
function parseOpenSlot(token: string): { kind: 'migrating' | 'importing'; slot: number; peer: string } | string | null {
  if (!token.startsWith('[')) return null;
  const m = /^\[(\d{1,5})-([<>])-([0-9a-f]{40})\]$/.exec(token);
  const slot = m ? parseSlot(m[1] as string) : null;
  if (!m || slot === null) return `open slot ${JSON.stringify(token.slice(0, 60))} is malformed`;
  return { kind: m[2] === '>' ? 'migrating' : 'importing', slot, peer: m[3] as string };
}

/** The answering node's own record (flag `myself`), if present. */
export function myselfOf(view: ClusterNodesView): ClusterNodeRecord | undefined {
  return view.nodes.find((n) => n.flags.has('myself'));
}
