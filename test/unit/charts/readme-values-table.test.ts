import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spliceReadme } from '../../../runtime/cli/config-reference.js';
import { documentedValues, VALUES_END, VALUES_START, valuesReference } from '../../../runtime/cli/values-reference.js';
import { chartText, valuesSchema } from '../../support/chart-files.js';

const valuesYaml = chartText('values.yaml');

describe('README values table', () => {
  it('is the one generated from values.yaml and values.schema.json (run `make docs` after changing a value)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = valuesReference(valuesYaml, valuesSchema());
    expect(spliceReadme(readme, table, { start: VALUES_START, end: VALUES_END })).toBe(readme);
  });

  it('documents every key of values.yaml with a `# --` comment', () => {
    const keys = documentedValues(valuesYaml).map((d) => d.key);
    expect(keys).toContain('image.digest');
    expect(keys).toContain('crds.keep');
    for (const d of documentedValues(valuesYaml)) expect(d.description, d.key).toMatch(/\S{3}/);
  });
});

describe('documentedValues', () => {
  it.each([
    ['a comment above the key', '# -- The count.\nreplicas: 1\n', [{ key: 'replicas', description: 'The count.' }]],
    ['continued comment lines', '# -- One\n# two.\nx: 1\n', [{ key: 'x', description: 'One two.' }]],
    ['nested keys by indentation', 'a:\n  # -- Inner.\n  b: 1\n# -- Outer.\nc: 2\n', [{ key: 'a.b', description: 'Inner.' }, { key: 'c', description: 'Outer.' }]],
    ['children of a documented key as its default', '# -- All of it.\nr:\n  requests:\n    cpu: 1\n', [{ key: 'r', description: 'All of it.' }]],
    ['a trailing comment without key', '# -- x\nx: 1\n\n# -- later: see elsewhere\n', [{ key: 'x', description: 'x' }]],
  ])('reads %s', (_case, yaml, expected) => {
    expect(documentedValues(yaml)).toEqual(expected);
  });

  it.each([
    ['a key without comment', 'x: 1\n', /x has no `# --` comment/],
    ['a comment separated by a blank line', '# -- Lost.\n\nx: 1\n', /x has no `# --` comment/],
    ['an undocumented nested key', 'a:\n  b: 1\n', /a\.b has no/],
  ])('rejects %s', (_case, yaml, message) => {
    expect(() => documentedValues(yaml)).toThrow(message);
  });
});
