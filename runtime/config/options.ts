/**
 * Declarative process options: each option is described once (key, environment variable, flag,
 * type, default, bounds, documentation) and parsed from flags and `IMGROUP_*` environment
 * variables. Flags win over the environment. The README's configuration table and every command's
 * `--help` are generated from the same specs (runtime/cli/), so documentation and behaviour cannot
 * drift apart.
 *
 * A spec is made by a typed builder (`stringOption`, `intOption`, `boolOption`, `listOption`,
 * `secretOption`) that records its key and the type of its value, as operator/api/schema-builder.ts
 * does for the CRD. A process's typed options are derived from its spec list with
 * `OptionValues<typeof SPECS>`, never declared beside it: a misspelt key is a compile error where
 * the option is read, and each default lives in its spec alone. An option with a default (or
 * `required`) is always present; one without may be undefined.
 *
 * Command lines are split by node:util `parseArgs` (non-strict, with tokens: `--name value`,
 * `--name=value`, positionals, the `--` terminator). What stays ours, and why:
 * - an unknown flag is refused naming it and listing the known ones (strict parseArgs says only
 *   "Unknown option", in an error that does not carry the option's name);
 * - a boolean flag is `--flag` or `--flag=true|false`, as `--help` shows (parseArgs' boolean type
 *   refuses `--flag=false`, and its `--no-flag` form needs Node 22.4);
 * - a value flag without a value, or followed by another `--flag` (`--name --port 1`), is a
 *   ConfigError naming the flag, like every other mistake on the command line (exit status 2);
 *   a value with one dash is a value (`--rate -1` is refused by the bounds, naming them).
 */
import { parseArgs } from 'node:util';

export type OptionKind = 'string' | 'int' | 'bool' | 'list' | 'secret';

/** What an option's value may be, by kind: a string, a number, a boolean or a list of strings. */
export type OptionValue = string | number | boolean | readonly string[];

/** The untyped view of a spec, which resolving, the README table and `--help` walk. */
export interface OptionSpec {
  /** Key in the parsed options object (camelCase, unit in the name: `heartbeatMs`). */
  readonly key: string;
  /** Environment variable, `IMGROUP_…`. */
  readonly env: string;
  /** Command-line flag, without the leading `--`. */
  readonly flag: string;
  readonly kind: OptionKind;
  /** Default, already typed. `undefined` means "no default" (required or optional). */
  readonly default?: OptionValue;
  /** Bounds of an `int` option, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a `string` option. */
  readonly choices?: readonly string[];
  /** A value must be given (in production mode for secrets, see `requiredInProduction`). */
  readonly required?: boolean;
  /** Secrets that must be set when `IMGROUP_MODE=production`. */
  readonly requiredInProduction?: boolean;
  /** One sentence for the README table and `--help`. */
  readonly doc: string;
}

declare const valueType: unique symbol;
declare const present: unique symbol;

/** A spec whose key is `K` and whose value has type `T`; `P` = it always has a value (a default or `required`). */
export interface Option<K extends string, T extends OptionValue, P extends boolean> extends OptionSpec {
  readonly key: K;
  readonly default?: T;
  readonly [valueType]?: T;
  readonly [present]?: P;
}

/** A spec with a default, which another command may reuse (`specOf(…).default`). */
export type Defaulted<K extends string, T extends OptionValue> = Option<K, T, true> & { readonly default: T };

/** An integer spec: its bounds are always given. */
export type Bounded<O> = O & { readonly min: number; readonly max: number };

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The options object `resolveOptions` returns for a spec list: present options required, the rest optional. */
export type OptionValues<S extends readonly OptionSpec[]> = Simplify<
  { [O in S[number] as O extends Option<infer K, OptionValue, true> ? K : never]: O extends Option<string, infer T, true> ? T : never } & {
    [O in S[number] as O extends Option<infer K, OptionValue, true> ? never : O['key']]?: O extends Option<string, infer T, boolean> ? T : never;
  }
>;

/** What every spec says besides its kind and value rules. */
interface Described<K extends string> {
  key: K;
  env: string;
  flag: string;
  doc: string;
}

function option<R extends OptionSpec>(kind: OptionKind, o: Described<string>): R {
  return { ...o, kind } as OptionSpec as R;
}

/** A string; with `choices`, one of them (typed as their union). */
export function stringOption<const K extends string, const C extends string>(o: Described<K> & { choices: readonly C[]; default: NoInfer<C> }): Defaulted<K, C>;
export function stringOption<const K extends string, const C extends string>(o: Described<K> & { choices: readonly C[] }): Option<K, C, false>;
export function stringOption<const K extends string>(o: Described<K> & { default: string }): Defaulted<K, string>;
export function stringOption<const K extends string>(o: Described<K> & { required: true }): Option<K, string, true>;
export function stringOption<const K extends string>(o: Described<K>): Option<K, string, false>;
export function stringOption<const K extends string>(o: Described<K>): Option<K, string, boolean> {
  return option('string', o);
}

/** An integer within `min`…`max` (every integer option has explicit bounds). */
export function intOption<const K extends string>(o: Described<K> & { min: number; max: number; default: number }): Bounded<Defaulted<K, number>>;
export function intOption<const K extends string>(o: Described<K> & { min: number; max: number }): Bounded<Option<K, number, false>>;
export function intOption<const K extends string>(o: Described<K> & { min: number; max: number }): Bounded<Option<K, number, boolean>> {
  return option('int', o);
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); `--flag` alone is true. */
export function boolOption<const K extends string>(o: Described<K> & { default: boolean }): Defaulted<K, boolean> {
  return option('bool', o);
}

/** A comma-separated list; blanks are dropped. */
export function listOption<const K extends string>(o: Described<K> & { default: readonly string[] }): Defaulted<K, string[]>;
export function listOption<const K extends string>(o: Described<K>): Option<K, string[], false>;
export function listOption<const K extends string>(o: Described<K>): Option<K, string[], boolean> {
  return option('list', o);
}

/** A string never shown in logs or `imgroup dev`'s output. */
export function secretOption<const K extends string>(o: Described<K> & { required: true }): Option<K, string, true>;
export function secretOption<const K extends string>(o: Described<K> & { requiredInProduction?: true }): Option<K, string, false>;
export function secretOption<const K extends string>(o: Described<K>): Option<K, string, boolean> {
  return option('secret', o);
}

/** The spec of `key` in a list, typed (another command reusing its default or bounds). */
export function specOf<S extends OptionSpec, K extends S['key']>(specs: readonly S[], key: K): Extract<S, { key: K }> {
  const spec = specs.find((s) => s.key === key);
  if (!spec) throw new Error(`no option ${key}`); // unreachable: the compiler checked the key
  return spec as Extract<S, { key: K }>;
}

/** The same option (variable, flag, default, bounds) described for another command that passes it on. */
export function describedAs<S extends OptionSpec>(spec: S, doc: string): S {
  return { ...spec, doc };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Split argv into the text of each known flag (the last one wins) and the positionals. */
function splitArgv(specs: readonly OptionSpec[], argv: readonly string[]): { flags: Map<string, string>; positionals: string[] } {
  const kinds = new Map(specs.map((s) => [s.flag, s.kind]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(specs.map((s) => [s.flag, { type: s.kind === 'bool' ? ('boolean' as const) : ('string' as const) }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const kind = kinds.get(token.name);
    if (kind === undefined || !token.rawName.startsWith('--')) {
      throw new ConfigError(`unknown flag ${token.rawName}; known flags: ${[...kinds.keys()].map((f) => `--${f}`).join(' ')}`);
    }
    if (kind === 'bool') {
      flags.set(token.name, token.value ?? 'true');
      continue;
    }
    if (token.value === undefined) throw new ConfigError(`${token.rawName} needs a value: ${token.rawName} <value> or ${token.rawName}=<value>`);
    if (!token.inlineValue && token.value.startsWith('--')) {
      throw new ConfigError(`${token.rawName} is followed by ${JSON.stringify(token.value)}, which looks like a flag; write ${token.rawName}=${token.value} if it is the value`);
    }
    flags.set(token.name, token.value);
  }
  return { flags, positionals };
}

function convert(spec: OptionSpec, text: string, source: string): string | number | boolean | string[] {
  const where = `${source} (${spec.env} / --${spec.flag})`;
  switch (spec.kind) {
    case 'string':
    case 'secret':
      if (spec.choices && !spec.choices.includes(text)) {
        throw new ConfigError(`${where}: ${JSON.stringify(text)} is not one of ${spec.choices.join(', ')}`);
      }
      return text;
    case 'int': {
      if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(`${where}: ${JSON.stringify(text)} is not an integer`);
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new ConfigError(`${where}: ${text} is out of range`);
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${where}: ${n} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw new ConfigError(`${where}: ${n} is above the maximum ${spec.max}`);
      return n;
    }
    case 'bool': {
      const t = text.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      throw new ConfigError(`${where}: ${JSON.stringify(text)} is not a boolean (true/false)`);
    }
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
  }
}

/**
 * Resolve every spec from flags, then environment, then default. Unknown `--flags` are rejected,
 * naming the flag. Returns the options keyed by `spec.key`, typed by the specs.
 */
export function resolveOptions<const S extends readonly OptionSpec[]>(
  specs: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { options: OptionValues<S>; positionals: string[] } {
  const { flags, positionals } = splitArgv(specs, argv);
  const production = (flags.get('mode') ?? env.IMGROUP_MODE ?? 'development') === 'production';
  const options: Record<string, OptionValue | undefined> = {};
  for (const spec of specs) {
    const fromFlag = flags.get(spec.flag);
    const fromEnv = env[spec.env];
    let value: OptionValue | undefined;
    if (fromFlag !== undefined) value = convert(spec, fromFlag, `--${spec.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') value = convert(spec, fromEnv, spec.env);
    else value = typeof spec.default === 'object' ? [...spec.default] : spec.default;
    if (value === undefined && (spec.required || (production && spec.requiredInProduction))) {
      throw new ConfigError(
        `${spec.env} (or --${spec.flag}) must be set${spec.requiredInProduction && !spec.required ? ' in production mode' : ''}: ${spec.doc}`,
      );
    }
    options[spec.key] = value;
  }
  // The one cast: `convert` gives each kind the value type its builder declared.
  return { options: options as OptionValues<S>, positionals };
}
