import { describe, expect, it } from 'vitest';
import { optionsTable } from '../../../runtime/cli/config-reference.js';
import { intOption, listOption, secretOption, stringOption } from '../../../runtime/config/options.js';

const specs = [
  intOption({ key: 'port', env: 'IMGROUP_PORT', flag: 'port', default: 8080, min: 1, max: 65535, doc: 'Port.' }),
  listOption({ key: 'seeds', env: 'IMGROUP_SEEDS', flag: 'seeds', default: ['a:1', 'b:2'], doc: 'Seeds.' }),
  stringOption({ key: 'mode', env: 'IMGROUP_MODE', flag: 'mode', default: 'development', choices: ['development', 'production'], doc: 'Mode.' }),
  secretOption({ key: 'secret', env: 'IMGROUP_SECRET', flag: 'secret', requiredInProduction: true, doc: 'Secret.' }),
  stringOption({ key: 'need', env: 'IMGROUP_NEED', flag: 'need', required: true, doc: 'Needed.' }),
  stringOption({ key: 'name', env: 'IMGROUP_NAME', flag: 'name', doc: 'Optional.' }),
] as const;

describe('optionsTable', () => {
  it('documents every option once with its default and range', () => {
    const table = optionsTable('Test', specs);
    for (const s of specs) expect(table).toContain(`\`${s.env}\``);
    expect(table).toContain('`8080` (1–65535)');
    expect(table).toContain('(required in production)');
  });

  it('writes one row per option: variable, flag, default or requirement, meaning and choices', () => {
    expect(optionsTable('Test', specs).split('\n')).toEqual([
      '#### Test',
      '',
      '| Variable | Flag | Default | Meaning |',
      '|---|---|---|---|',
      '| `IMGROUP_PORT` | `--port` | `8080` (1–65535) | Port. |',
      '| `IMGROUP_SEEDS` | `--seeds` | `a:1,b:2` | Seeds. |',
      '| `IMGROUP_MODE` | `--mode` | `development` | Mode. One of `development`, `production`. |',
      '| `IMGROUP_SECRET` | `--secret` | (required in production) | Secret. |',
      '| `IMGROUP_NEED` | `--need` | (required) | Needed. |',
      '| `IMGROUP_NAME` | `--name` | — | Optional. |',
      '',
    ]);
  });
});
