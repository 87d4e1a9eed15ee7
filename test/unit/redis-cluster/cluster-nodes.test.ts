import { describe, expect, it } from 'vitest';
import { myselfOf, parseClusterNodeLine, parseClusterNodes, type ClusterNodeRecord } from '../../../runtime/redis-cluster/cluster-nodes.js';

const A = 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca';
const B = '67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1';
const C = '292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f';
const D = '07c37dfeb235213a872192d90877d0cd55635b91';

// The example of the Redis documentation (CLUSTER NODES, Redis 7 format with hostnames).
const SAMPLE = [
  `${D} 127.0.0.1:30004@31004,hostname4 slave ${A} 0 1426238317239 4 connected`,
  `${B} 127.0.0.1:30002@31002,hostname2 master - 0 1426238316232 2 connected 5461-10922`,
  `${C} 127.0.0.1:30003@31003,hostname3 master - 0 1426238318243 3 connected 10923-16383`,
  `${A} 127.0.0.1:30001@31001,hostname1 myself,master - 0 0 1 connected 0-5460`,
  '',
].join('\n');

function parsed(line: string): ClusterNodeRecord {
  const r = parseClusterNodeLine(line);
  if (typeof r === 'string') throw new Error(`rejected: ${r}`);
  return r;
}

describe('parseClusterNodes', () => {
  it('parses the documented example into typed records', () => {
    const view = parseClusterNodes(SAMPLE);
    expect(view.rejected).toEqual([]);
    expect(view.nodes).toHaveLength(4);
    const me = myselfOf(view);
    expect(me).toMatchObject({ id: A, host: '127.0.0.1', port: 30001, busPort: 31001, hostname: 'hostname1', role: 'master', masterId: null, configEpoch: 1, linkState: 'connected' });
    expect(me?.slots).toEqual([{ start: 0, end: 5460 }]);
    expect([...(me?.flags ?? [])].sort()).toEqual(['master', 'myself']);
    const replica = view.nodes.find((n) => n.id === D);
    expect(replica).toMatchObject({ role: 'replica', masterId: A, pongRecvMs: 1426238317239, slots: [] });
    expect(replica?.flags.has('replica')).toBe(true);
  });

  it.each([
    ['a fresh node (its own IP not known yet)', `${A} :7000@17000 myself,master - 0 0 0 connected`, { host: '', port: 7000, busPort: 17000, hostname: null }],
    ['the pre-Redis-4 address without bus port', `${A} 10.0.0.1:6379 master - 0 0 0 connected`, { host: '10.0.0.1', port: 6379, busPort: null }],
    ['an IPv6 address', `${A} ::1:7000@17000 master - 0 0 0 connected`, { host: '::1', port: 7000, busPort: 17000 }],
    ['an empty hostname and aux fields (Redis 7.2)', `${A} 10.0.0.1:7000@17000,,shard-id=abc master - 0 0 0 connected`, { hostname: null }],
    ['a node without address', `${A} :0@0 master,noaddr - 0 0 0 disconnected`, { host: '', port: 0, busPort: 0, linkState: 'disconnected' }],
    ['single slots and ranges', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 0 5-9 16383`, { slots: [{ start: 0, end: 0 }, { start: 5, end: 9 }, { start: 16383, end: 16383 }] }],
    ['a migrating slot', `${A} 10.0.0.1:7000@17000 myself,master - 0 0 0 connected 0-100 [42->-${B}]`, { migrating: [{ slot: 42, to: B }], importing: [] }],
    ['an importing slot', `${A} 10.0.0.1:7000@17000 myself,master - 0 0 0 connected [16383-<-${B}]`, { importing: [{ slot: 16383, from: B }], slots: [] }],
    ['a replica of an unknown master', `${A} 10.0.0.1:7000@17000 slave - 0 0 0 connected`, { role: 'replica', masterId: null }],
    ['a node with no role flag', `${A} 10.0.0.1:7000@17000 handshake - 0 0 0 connected`, { role: 'unknown' }],
  ])('accepts %s', (_name, line, expected) => {
    expect(parsed(line)).toMatchObject(expected);
  });

  it.each([
    ['fail?', 'pfail'],
    ['fail', 'fail'],
    ['handshake', 'handshake'],
    ['noaddr', 'noaddr'],
    ['nofailover', 'nofailover'],
  ])('reads flag %s as %s', (flag, expected) => {
    const r = parsed(`${A} 10.0.0.1:7000@17000 master,${flag} - 0 0 0 connected`);
    expect(r.flags.has(expected as 'fail')).toBe(true);
  });

  it('keeps unknown flags apart and ignores noflags', () => {
    const r = parsed(`${A} 10.0.0.1:7000@17000 master,shiny,noflags - 0 0 0 connected`);
    expect(r.otherFlags).toEqual(['shiny']);
    expect([...r.flags]).toEqual(['master']);
  });

  it.each([
    ['too few fields', `${A} 10.0.0.1:7000@17000 master - 0 0 0`, /at least 8 fields/],
    ['a short node id', `abc 10.0.0.1:7000@17000 master - 0 0 0 connected`, /node id/],
    ['an uppercase node id', `${A.toUpperCase()} 10.0.0.1:7000@17000 master - 0 0 0 connected`, /node id/],
    ['a port above 65535', `${A} 10.0.0.1:70000@17000 master - 0 0 0 connected`, /port must be 1..65535/],
    ['port 0 without noaddr', `${A} 10.0.0.1:0@17000 master - 0 0 0 connected`, /port must be 1..65535/],
    ['a bus port above 65535', `${A} 10.0.0.1:7000@99999 master - 0 0 0 connected`, /bus port/],
    ['a non-numeric port', `${A} 10.0.0.1:http@17000 master - 0 0 0 connected`, /port/],
    ['an address without port', `${A} 10.0.0.1 master - 0 0 0 connected`, /no port/],
    ['junk in the IP', `${A} 10.0.0.1/8:7000@17000 master - 0 0 0 connected`, /bad IP/],
    ['a bad master id', `${A} 10.0.0.1:7000@17000 slave nope 0 0 0 connected`, /master id/],
    ['both master and slave flags', `${A} 10.0.0.1:7000@17000 master,slave - 0 0 0 connected`, /both master and slave/],
    ['a negative config epoch', `${A} 10.0.0.1:7000@17000 master - 0 0 -1 connected`, /non-negative integers/],
    ['a fractional ping time', `${A} 10.0.0.1:7000@17000 master - 0.5 0 0 connected`, /non-negative integers/],
    ['an unknown link state', `${A} 10.0.0.1:7000@17000 master - 0 0 0 sleeping`, /link state/],
    ['slot 16384', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 16384`, /0..16383/],
    ['a range past 16383', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 0-16384`, /0..16383/],
    ['a reversed range', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 10-5`, /ends before it starts/],
    ['a negative slot', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected -5`, /slot/],
    ['a huge slot number', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 99999999999999999999`, /slot/],
    ['a slot with junk', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected 1a`, /slot/],
    ['a malformed open slot', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected [42->-nope]`, /open slot/],
    ['an open slot past 16383', `${A} 10.0.0.1:7000@17000 master - 0 0 0 connected [16384->-${B}]`, /open slot/],
    ['__proto__ as a node id', `__proto__ 10.0.0.1:7000@17000 master - 0 0 0 connected`, /node id/],
  ])('rejects %s', (_name, line, reason) => {
    const r = parseClusterNodeLine(line);
    expect(typeof r).toBe('string');
    expect(r).toMatch(reason);
  });

  it('reports malformed lines with their line numbers and keeps the good ones', () => {
    const text = [`${A} 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383`, 'garbage', `${B} 10.0.0.2:7000@17000 slave ${A} 0 0 1 connected 99999`, `${C} 10.0.0.3:7000@17000 slave ${A} 0 0 1 connected`].join('\n');
    const view = parseClusterNodes(text);
    expect(view.nodes.map((n) => n.id)).toEqual([A, C]);
    expect(view.rejected.map((r) => r.lineNo)).toEqual([2, 3]);
  });

  it('rejects a second line with the same node id', () => {
    const line = `${A} 10.0.0.1:7000@17000 master - 0 0 1 connected`;
    const view = parseClusterNodes(`${line}\n${line}`);
    expect(view.nodes).toHaveLength(1);
    expect(view.rejected[0]?.reason).toMatch(/duplicate/);
  });

  it('bounds the number of nodes and the line length', () => {
    const lines = Array.from({ length: 5 }, (_, i) => `${String(i).repeat(40)} 10.0.0.1:${7000 + i}@17000 master - 0 0 1 connected`);
    const view = parseClusterNodes(lines.join('\n'), { maxNodes: 3 });
    expect(view.nodes).toHaveLength(3);
    expect(view.rejected).toHaveLength(2);
    expect(parseClusterNodes(`${A} ${'x'.repeat(500)}`, { maxLineChars: 100 }).rejected[0]?.reason).toMatch(/longer than 100/);
  });

  it.each([
    ['undefined', undefined],
    ['a number', 42],
    ['an array', ['a', 'b']],
    ['null', null],
  ])('never throws on %s, reporting it instead', (_name, reply) => {
    const view = parseClusterNodes(reply);
    expect(view.nodes).toEqual([]);
    expect(view.rejected).toHaveLength(1);
  });

  it('accepts a Buffer reply and CRLF line ends', () => {
    const view = parseClusterNodes(Buffer.from(SAMPLE.replaceAll('\n', '\r\n')));
    expect(view.nodes).toHaveLength(4);
    expect(view.rejected).toEqual([]);
  });
});
