/**
 * Faults of imgroup processes: SIGKILL, SIGSTOP/SIGCONT, and rolling restarts (SIGTERM, then the
 * same process started again on the same ports, as a Deployment replaces a pod).
 */
import { ImgroupProcess } from '../../../runtime/dev/imgroup-process.js';
import { eventually } from '../../support/eventually.js';
import { metricValue, type NodeHandle } from '../../support/system.js';
import type { FaultBed } from '../support/fault-bed.js';
import type { Fault } from './fault.js';

/** Start a stopped or killed node again with its own options (ports, environment, log file). */
export async function respawn(node: NodeHandle): Promise<void> {
  node.process = new ImgroupProcess({ ...node.process.opts });
  await node.process.waitReady();
}

/** Every gate has an open link to every logic node again. */
export async function linksWhole(bed: FaultBed): Promise<void> {
  const want = bed.sys.logic.length;
  await eventually(
    'every gate linked to every logic node',
    async () => {
      for (const g of bed.sys.gates) if (metricValue(await bed.sys.metrics(g), 'imgroup_gate_logic_links_up') !== want) return false;
      return true;
    },
    { timeoutMs: 60_000, retryErrors: true },
  );
}

/** Every client of the load is connected again. */
export async function clientsOpen(bed: FaultBed): Promise<void> {
  await eventually('every client connected', () => bed.driver.users.every((u) => u.client.state === 'open'), {
    timeoutMs: 60_000,
    explain: () => bed.driver.users.filter((u) => u.client.state !== 'open').map((u) => `${u.userId}: ${u.client.state}`).join(', '),
  });
}

export function killGate(index: number): Fault {
  return {
    name: 'gate-sigkill',
    injected: `SIGKILL gate-${index} (restarted after its users were offline)`,
    async inject(bed) {
      await bed.sys.gates[index]!.process.kill();
    },
    async heal(bed) {
      await respawn(bed.sys.gates[index]!);
      await clientsOpen(bed);
    },
  };
}

export function killLogic(index: number): Fault {
  return {
    name: 'logic-sigkill',
    injected: `SIGKILL logic-${index} (restarted afterwards)`,
    async inject(bed) {
      await bed.sys.logic[index]!.process.kill();
    },
    async heal(bed) {
      await respawn(bed.sys.logic[index]!);
      await linksWhole(bed);
    },
  };
}

export function pauseLogic(index: number, pauseMs: number): Fault {
  let resumeAt = 0;
  return {
    name: 'logic-sigstop',
    injected: `SIGSTOP logic-${index} for ${pauseMs / 1000} s, then SIGCONT`,
    async inject(bed) {
      process.kill(bed.sys.logic[index]!.process.pid as number, 'SIGSTOP');
      resumeAt = Date.now() + pauseMs;
    },
    async heal(bed) {
      // The pause is the fault itself (its length is what is injected), not a wait for a state.
      const left = resumeAt - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      process.kill(bed.sys.logic[index]!.process.pid as number, 'SIGCONT');
      await linksWhole(bed);
    },
  };
}

/** SIGTERM each gate in turn; the next goes once the restarted one is ready and its clients are back. */
export function rollingGates(): Fault {
  return {
    name: 'rolling-gates',
    injected: 'SIGTERM + restart of every gate, one by one',
    async inject(bed) {
      for (const g of bed.sys.gates) {
        await g.process.stop();
        await respawn(g);
        await clientsOpen(bed);
      }
    },
    async heal() {},
  };
}

/** SIGTERM each logic node in turn; the next goes once every gate is linked to the restarted one. */
export function rollingLogic(): Fault {
  return {
    name: 'rolling-logic',
    injected: 'SIGTERM + restart of every logic node, one by one',
    async inject(bed) {
      for (const l of bed.sys.logic) {
        await l.process.stop();
        await respawn(l);
        await linksWhole(bed);
      }
    },
    async heal() {},
  };
}
