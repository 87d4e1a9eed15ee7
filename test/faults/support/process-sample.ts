/**
 * What a running imgroup process says about its own resources, read from the metrics it already
 * exports (prom-client's process and Node metrics, the gate's connection gauge): memory, handles,
 * timers. With `gc`, a full collection is forced first through the process's inspector (the
 * processes of a bed started with `--inspect=127.0.0.1:0`), so the heap figure counts live objects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage, inspectorUrlFromLog } from '../../../runtime/bench/inspector-gc.js';
import { metricValue, type NodeHandle, type TestSystem } from '../../support/system.js';

export interface ProcessSample {
  name: string;
  /** Changes when the node was restarted. */
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** libuv handles (sockets, servers, pipes …), `nodejs_active_handles` summed over types. */
  handles: number;
  /** Pending timers, `nodejs_active_resources{type="Timeout"}`. */
  timers: number;
  /** Authenticated client connections (gates only, else 0). */
  connections: number;
}

/** The `--inspect` environment for a bed whose processes' heaps are sampled after a forced GC. */
export const INSPECT_ENV = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

export async function forceGc(sys: TestSystem, node: NodeHandle): Promise<boolean> {
  // The log holds one "Debugger listening" line per start of the node; the last is the live one.
  const log = readFileSync(join(sys.dir, `${node.name}.log`), 'utf8');
  const at = log.lastIndexOf('Debugger listening on');
  const url = at < 0 ? null : inspectorUrlFromLog(log.slice(at));
  return url === null ? false : collectGarbage(url);
}

export async function sampleProcess(sys: TestSystem, node: NodeHandle, opts: { gc?: boolean } = {}): Promise<ProcessSample> {
  if (opts.gc && !(await forceGc(sys, node))) throw new Error(`could not force a GC in ${node.name} (started without --inspect?)`);
  const text = await sys.metrics(node);
  return {
    name: node.name,
    pid: node.process.pid ?? 0,
    rssBytes: metricValue(text, 'process_resident_memory_bytes'),
    heapUsedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'),
    handles: metricValue(text, 'nodejs_active_handles'),
    timers: metricValue(text, 'nodejs_active_resources', { type: 'Timeout' }),
    connections: metricValue(text, 'imgroup_gate_connections'),
  };
}
