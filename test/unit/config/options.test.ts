import { describe, expect, it } from 'vitest';
import { BENCH_OPTIONS } from '../../../runtime/bench/bench-options.js';
import { TOKEN_OPTIONS } from '../../../runtime/cli/token-command.js';
import { COMMON_OPTIONS } from '../../../runtime/config/common-options.js';
import {
  boolOption,
  ConfigError,
  describedAs,
  intOption,
  listOption,
  type OptionSpec,
  resolveOptions,
  secretOption,
  specOf,
  stringOption,
} from '../../../runtime/config/options.js';
import { DEV_OPTIONS } from '../../../runtime/dev/dev-options.js';
import { GATE_OPTIONS } from '../../../runtime/gate/config.js';
import { LOGIC_OPTIONS } from '../../../runtime/logic/config.js';
import { OPERATOR_OPTIONS } from '../../../operator/operator-options.js';

const specs = [
  intOption({ key: 'port', env: 'IMGROUP_PORT', flag: 'port', default: 8080, min: 1, max: 65535, doc: 'Port.' }),
  boolOption({ key: 'debug', env: 'IMGROUP_DEBUG', flag: 'debug', default: false, doc: 'Debug.' }),
  listOption({ key: 'seeds', env: 'IMGROUP_SEEDS', flag: 'seeds', default: ['a:1'], doc: 'Seeds.' }),
  stringOption({ key: 'mode', env: 'IMGROUP_MODE', flag: 'mode', default: 'development', choices: ['development', 'production'], doc: 'Mode.' }),
  secretOption({ key: 'secret', env: 'IMGROUP_SECRET', flag: 'secret', requiredInProduction: true, doc: 'Secret.' }),
  stringOption({ key: 'need', env: 'IMGROUP_NEED', flag: 'need', required: true, doc: 'Needed.' }),
  stringOption({ key: 'name', env: 'IMGROUP_NAME', flag: 'name', doc: 'Optional.' }),
] as const;
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

describe('the command line (node:util parseArgs)', () => {
  it('treats everything after -- as positional', () => {
    const { options, positionals } = resolveOptions(specs, ['--port', '1', '--', '--debug'], base);
    expect(options).toMatchObject({ port: 1, debug: false });
    expect(positionals).toEqual(['--debug']);
  });

  it('takes --flag, --flag=true and --flag=false for booleans, the last one winning', () => {
    expect(resolveOptions(specs, ['--debug=false'], { ...base, IMGROUP_DEBUG: 'true' }).options.debug).toBe(false);
    expect(resolveOptions(specs, ['--debug', '--debug=no'], base).options.debug).toBe(false);
    expect(resolveOptions(specs, ['--debug=false', '--debug'], base).options.debug).toBe(true);
  });

  it('takes a value that starts with a dash only after =', () => {
    expect(resolveOptions(specs, ['--name=--x'], base).options.name).toBe('--x');
  });

  it.each([
    [['--port'], /--port needs a value/],
    [['--name', '--port', '1'], /--name is followed by "--port", which looks like a flag; write --name=--port/],
    [['-p', '1'], /unknown flag -p; known flags: --port --debug/],
    [['--debug=maybe'], /--debug.*not a boolean/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(() => resolveOptions(specs, argv, base)).toThrow(ConfigError);
    expect(() => resolveOptions(specs, argv, base)).toThrow(message);
  });
});

describe('typed specs', () => {
  it('type the options object: present options always set, the rest possibly undefined', () => {
    const { options } = resolveOptions(specs, [], base);
    const typed: { port: number; debug: boolean; seeds: string[]; mode: 'development' | 'production'; need: string; secret?: string; name?: string } = options;
    expect(typed).toEqual({ port: 8080, debug: false, seeds: ['a:1'], mode: 'development', need: 'x', secret: undefined, name: undefined });
    // @ts-expect-error a key no spec declares is a compile error, not undefined at run time
    expect(options.prot).toBeUndefined();
  });

  it('give each list default its own copy', () => {
    resolveOptions(specs, [], base).options.seeds.push('b:2');
    expect(resolveOptions(specs, [], base).options.seeds).toEqual(['a:1']);
  });

  it('are found by key, and reused under another description', () => {
    const port = specOf(specs, 'port');
    expect(port.default).toBe(8080);
    const again = describedAs(port, 'The same port.');
    expect(again).toMatchObject({ key: 'port', env: 'IMGROUP_PORT', default: 8080, min: 1, max: 65535, doc: 'The same port.' });
    // @ts-expect-error a key no spec declares
    expect(() => specOf(specs, 'prot')).toThrow();
  });

  it.each([
    ['gate', GATE_OPTIONS],
    ['logic', LOGIC_OPTIONS],
    ['common', COMMON_OPTIONS],
    ['dev', DEV_OPTIONS],
    ['bench', BENCH_OPTIONS],
    ['token', TOKEN_OPTIONS],
    ['operator', OPERATOR_OPTIONS],
  ] as [string, readonly OptionSpec[]][])('of %s name each key, flag and variable once', (_, list) => {
    for (const field of ['key', 'flag', 'env'] as const) expect(new Set(list.map((s) => s[field])).size).toBe(list.length);
  });
});
