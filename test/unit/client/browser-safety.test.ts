/**
 * The client runs in browsers: its files may import only each other and the browser-safe parts of
 * the protocol module and the one backoff (runtime/retry/backoff.ts, itself import-free) at run
 * time (type-only imports vanish when compiled).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '../../../runtime/client');
const ALLOWED = /^(\.\/[a-z-]+\.js|\.\.\/protocol\/(errors|ids)\.js|\.\.\/retry\/backoff\.js)$/;

describe('client files', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

  it('exist', () => {
    expect(files).toContain('index.ts');
  });

  it('shares a backoff that imports nothing and uses nothing of Node', () => {
    const source = readFileSync(join(DIR, '../retry/backoff.ts'), 'utf8');
    expect(source).not.toMatch(/^(?:import|export)\s[^;]*?from\s/m);
    expect(source).not.toMatch(/\b(Buffer|process)\./);
  });

  it.each(files)('%s imports nothing Node-only at run time', (file) => {
    const source = readFileSync(join(DIR, file), 'utf8');
    const runtimeImports = [...source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
    for (const spec of runtimeImports) expect(spec).toMatch(ALLOWED);
    expect(source).not.toMatch(/\b(Buffer|process)\./);
  });
});
