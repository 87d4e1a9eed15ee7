/**
 * A fault the suite (and the soak) can inject into a running bed: `inject` does the damage and
 * returns once it is done (a killed process has exited, a paused one is stopped); `heal` undoes
 * what a real deployment would undo on its own (a pod restarted, a link back) and waits until the
 * system is whole again. Recovery is measured by the caller from the start of `inject`.
 */
import type { FaultBed } from '../support/fault-bed.js';

export interface Fault {
  /** Stable key for the report. */
  name: string;
  /** What is injected, in words (the README's "injected" column). */
  injected: string;
  inject(bed: FaultBed): Promise<void>;
  heal(bed: FaultBed): Promise<void>;
}
