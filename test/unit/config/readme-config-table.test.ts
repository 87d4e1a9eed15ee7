import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference, spliceReadme } from '../../../runtime/cli/config-reference.js';

describe('README configuration table', () => {
  it('is the one generated from the option specs (run `make docs` after changing an option)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(spliceReadme(readme, configReference())).toBe(readme);
  });

  it('documents every IMGROUP_ variable named anywhere in the runtime sources', () => {
    const documented = new Set(configReference().match(/IMGROUP_[A-Z0-9_]+/g));
    const root = new URL('../../../runtime/', import.meta.url);
    const named = new Set<string>();
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const m of readFileSync(new URL(file, root), 'utf8').matchAll(/IMGROUP_[A-Z0-9_]*[A-Z0-9]/g)) named.add(m[0]);
    }
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((e) => !documented.has(e))).toEqual([]);
  });
});
