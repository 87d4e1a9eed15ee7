import { describe, expect, it } from 'vitest';
import { ConfigError, type OptionSpec, optionsTable, parseArgv, resolveOptions } from '../../../runtime/config/options.js';

const specs: OptionSpec[] = [
  { key: 'port', env: 'IMGROUP_PORT', flag: 'port', kind: 'int', default: 8080, min: 1, max: 65535, doc: 'Port.' },
  { key: 'debug', env: 'IMGROUP_DEBUG', flag: 'debug', kind: 'bool', default: false, doc: 'Debug.' },
  { key: 'seeds', env: 'IMGROUP_SEEDS', flag: 'seeds', kind: 'list', default: ['a:1'], doc: 'Seeds.' },
  { key: 'mode', env: 'IMGROUP_MODE', flag: 'mode', kind: 'string', default: 'development', choices: ['development', 'production'], doc: 'Mode.' },
  { key: 'secret', env: 'IMGROUP_SECRET', flag: 'secret', kind: 'secret', requiredInProduction: true, doc: 'Secret.' },
  { key: 'need', env: 'IMGROUP_NEED', flag: 'need', kind: 'string', required: true, doc: 'Needed.' },
];
const base = { IMGROUP_NEED: 'x' };

describe('resolveOptions', () => {
  it('uses defaults, then environment, then flags', () => {
    expect(resolveOptions(specs, [], base).options).toMatchObject({ port: 8080, debug: false, seeds: ['a:1'], mode: 'development' });
    expect(resolveOptions(specs, [], { ...base, IMGROUP_PORT: '9000', IMGROUP_DEBUG: 'yes', IMGROUP_SEEDS: 'h:1, h:2' }).options).toMatchObject({
      port: 9000,
      debug: true,
      seeds: ['h:1', 'h:2'],
    });
    expect(resolveOptions(specs, ['--port', '9100', '--debug'], { ...base, IMGROUP_PORT: '9000' }).options).toMatchObject({ port: 9100, debug: true });
    expect(resolveOptions(specs, ['--port=9200'], base).options.port).toBe(9200);
  });

  it('keeps positionals apart', () => {
    expect(resolveOptions(specs, ['alice', '--port', '1', 'bob'], base).positionals).toEqual(['alice', 'bob']);
  });

  it.each([
    [['--port', 'abc'], {}, /--port.*not an integer/],
    [['--port', '0'], {}, /--port.*below the minimum 1/],
    [[], { IMGROUP_PORT: '70000' }, /IMGROUP_PORT.*above the maximum 65535/],
    [[], { IMGROUP_DEBUG: 'maybe' }, /IMGROUP_DEBUG.*not a boolean/],
    [['--mode', 'staging'], {}, /--mode.*not one of development, production/],
    [['--nope', '1'], {}, /unknown flag --nope/],
    [['--mode', 'production'], {}, /IMGROUP_SECRET.*must be set in production mode/],
    [[], { IMGROUP_MODE: 'production' }, /IMGROUP_SECRET/],
  ])('rejects %j %j naming the setting', (argv, env, message) => {
    expect(() => resolveOptions(specs, argv, { ...base, ...env })).toThrow(ConfigError);
    expect(() => resolveOptions(specs, argv, { ...base, ...env })).toThrow(message);
  });

  it('requires required options in any mode', () => {
    expect(() => resolveOptions(specs, [], {})).toThrow(/IMGROUP_NEED \(or --need\) must be set/);
  });

  it('accepts secrets in production mode when set', () => {
    expect(resolveOptions(specs, [], { ...base, IMGROUP_MODE: 'production', IMGROUP_SECRET: 's' }).options.secret).toBe('s');
  });
});

describe('parseArgv', () => {
  it('treats everything after -- as positional', () => {
    expect(parseArgv(['--a', '1', '--', '--b'])).toEqual({ flags: new Map([['a', '1']]), positionals: ['--b'] });
  });
});

describe('optionsTable', () => {
  it('documents every option once with its default and range', () => {
    const table = optionsTable('Test', specs);
    for (const s of specs) expect(table).toContain(`\`${s.env}\``);
    expect(table).toContain('`8080` (1–65535)');
    expect(table).toContain('(required in production)');
  });
});
