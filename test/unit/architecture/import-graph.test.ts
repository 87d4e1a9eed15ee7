/**
 * The layout rules of STYLE.md that an import graph can check, over the TypeScript sources of
 * runtime/ and operator/ (static `import … from` and `export … from` of relative paths, type-only
 * imports included: a type cycle is a misplaced piece too):
 * - no import cycles;
 * - runtime/ imports nothing of operator/, except runtime/cli (the one executable hosts every role);
 * - runtime/protocol/ is the leaf: it imports nothing of ours outside itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ROOTS = ['runtime', 'operator'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a source file, as repository-relative .ts paths. */
export function relativeImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
    const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'));
    out.push(relative(REPO, target));
  }
  return out;
}

/** Strongly connected groups of more than one file (Tarjan). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) cycles.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

const graph = new Map<string, string[]>();
for (const root of ROOTS) {
  for (const file of sources(join(REPO, root))) graph.set(relative(REPO, file), relativeImports(file, readFileSync(file, 'utf8')));
}

describe('the import graph of runtime/ and operator/', () => {
  it('reads the sources', () => {
    expect(graph.size).toBeGreaterThan(150);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(importCycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(relativeImports(join(REPO, 'runtime/x/y.ts'), "import type { A } from '../z/a.js';\nexport { b } from './b.js';\nimport fs from 'node:fs';")).toEqual(['runtime/z/a.ts', 'runtime/x/b.ts']);
  });

  it('has no import cycles', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('runtime/ imports nothing of operator/ (runtime/cli, the executable of every role, excepted)', () => {
    const crossings = [...graph].filter(([file]) => file.startsWith('runtime/') && !file.startsWith('runtime/cli/')).flatMap(([file, deps]) => deps.filter((d) => d.startsWith('operator/')).map((d) => `${file} → ${d}`));
    expect(crossings).toEqual([]);
  });

  it('runtime/protocol/ imports nothing of ours outside itself', () => {
    const out = [...graph].filter(([file]) => file.startsWith('runtime/protocol/')).flatMap(([file, deps]) => deps.filter((d) => !d.startsWith('runtime/protocol/')).map((d) => `${file} → ${d}`));
    expect(out).toEqual([]);
  });
});
