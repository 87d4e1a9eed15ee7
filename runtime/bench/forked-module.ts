/**
 * Where the compiled entry points that `imgroup bench` forks live (client workers, the baseline
 * server): next to this module when it runs from dist/, else in dist/ of the package (sources
 * run by a test runner cannot be forked as plain Node modules).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imgroupBinPath } from '../dev/imgroup-process.js';

export function forkedModulePath(basename: string): string {
  const sibling = join(dirname(fileURLToPath(import.meta.url)), `${basename}.js`);
  if (existsSync(sibling)) return sibling;
  const built = join(dirname(dirname(imgroupBinPath)), 'dist', 'runtime', 'bench', `${basename}.js`);
  if (existsSync(built)) return built;
  throw new Error(`${basename}.js not found next to ${sibling} nor in ${built}: build first (npx tsc -p .)`);
}
