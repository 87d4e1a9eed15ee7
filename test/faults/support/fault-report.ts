/**
 * Where the fault suite and the soak put their figures: one JSON file per scenario in the report
 * directory (`FAULTS_REPORT_DIR`, default `.faults/` at the repository root), read back by
 * `hack/faults/reliability-readme.mjs`, which writes the README "Reliability" tables.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function reportDir(): string {
  return process.env.FAULTS_REPORT_DIR ?? join(REPO_ROOT, '.faults');
}

export interface FaultFigures {
  /** Stable key, also the file name; the README orders rows by `order`. */
  scenario: string;
  order: number;
  /** What was injected, in words. */
  injected: string;
  accepted: number;
  delivered: number;
  expected: number;
  lost: number;
  duplicates: number;
  /** From injection until every group had a send (first written after the injection) accepted. */
  recoverMs: number;
  /** Error codes clients saw (retryable ones included). */
  codes: Record<string, number>;
  /** Anything else the scenario measured (e.g. time until a killed gate's users were offline). */
  notes?: string;
}

export function writeReport(name: string, figures: object): string {
  const file = join(reportDir(), `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`);
  return file;
}
