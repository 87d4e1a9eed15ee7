/**
 * A gate loads the Kubernetes client (@kubernetes/client-node) only when it watches its membership
 * ConfigMap: no module statically reachable from runtime/gate/main.ts may import it. The static
 * import graph is read from the TypeScript sources: `import … from`, `import '…'` and
 * `export … from` (type-only ones are erased by the compiler and do not count; a dynamic
 * `import()` is not an edge).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const FORBIDDEN = '@kubernetes/client-node';

/** The module specifiers a file loads when it is imported. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const stmt of source.statements) {
    if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
      const clause = stmt.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes = clause !== undefined && clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) out.push(stmt.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(stmt) && stmt.moduleSpecifier && ts.isStringLiteral(stmt.moduleSpecifier)) {
      const clause = stmt.exportClause;
      const onlyTypes = stmt.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
      if (!onlyTypes) out.push(stmt.moduleSpecifier.text);
    }
  }
  return out;
}

/** Every module reachable from `entry` over static imports: our .ts files and the packages they name, with the path that reached each. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const via = seen.get(file) as string[];
    for (const spec of staticImports(file)) {
      if (!spec.startsWith('.')) {
        if (!seen.has(spec)) seen.set(spec, [...via, spec]);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) throw new Error(`${relative(ROOT, file)} imports ${spec}, which has no .ts source`);
      if (seen.has(target)) continue;
      seen.set(target, [...via, target]);
      queue.push(target);
    }
  }
  return seen;
}

const show = (path: string[]) => path.map((p) => (p.startsWith('/') ? relative(ROOT, p) : p)).join(' → ');

describe('the gate\'s static imports', () => {
  it('never load @kubernetes/client-node (the ConfigMap membership source imports it dynamically)', () => {
    const graph = reachable(join(ROOT, 'runtime/gate/main.ts'));
    expect(graph.size).toBeGreaterThan(20); // the walk followed the gate's modules
    expect(graph.has(join(ROOT, 'runtime/gate/membership-configmap.ts'))).toBe(true);
    const offending = [...graph.entries()].filter(([m]) => m === FORBIDDEN || m.startsWith(`${FORBIDDEN}/`));
    expect(offending.map(([, path]) => show(path))).toEqual([]);
  });

  it('would see a static import of it (the check can fail)', () => {
    const graph = reachable(join(ROOT, 'runtime/gate/membership-configmap-api.ts'));
    expect(graph.has(FORBIDDEN)).toBe(true);
  });
});
