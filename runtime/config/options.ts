/**
 * Declarative process options: each option is described once (name, environment variable, flag,
 * type, default, bounds, documentation) and parsed from flags and `IMGROUP_*` environment
 * variables. Flags win over the environment. The README's configuration table is generated from
 * the same specs (`imgroup config-table`), so documentation and behaviour cannot drift apart.
 */

export type OptionKind = 'string' | 'int' | 'bool' | 'list' | 'secret';

export interface OptionSpec {
  /** Key in the parsed options object (camelCase, unit in the name: `heartbeatMs`). */
  key: string;
  /** Environment variable, `IMGROUP_…`. */
  env: string;
  /** Command-line flag, without the leading `--`. */
  flag: string;
  kind: OptionKind;
  /** Default, already typed. `undefined` means "no default" (required or optional). */
  default?: string | number | boolean | string[];
  /** Bounds for `int` options, inclusive. */
  min?: number;
  max?: number;
  /** Allowed values of a `string` option. */
  choices?: readonly string[];
  /** A value must be given (in production mode for secrets, see `requiredInProduction`). */
  required?: boolean;
  /** Secrets that must be set when `IMGROUP_MODE=production`. */
  requiredInProduction?: boolean;
  /** One sentence for the README table. */
  doc: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type RawOptions = Record<string, string | number | boolean | string[] | undefined>;

/** Split `--name value`, `--name=value` and `--flag` (boolean true) into a map; positionals apart. */
export function parseArgv(argv: readonly string[]): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(arg.slice(2), next);
      i++;
    } else {
      flags.set(arg.slice(2), 'true');
    }
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
 * naming the flag. Returns a plain object keyed by `spec.key`.
 */
export function resolveOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { options: RawOptions; positionals: string[] } {
  const { flags, positionals } = parseArgv(argv);
  const known = new Set(specs.map((s) => s.flag));
  for (const name of flags.keys()) {
    if (!known.has(name)) throw new ConfigError(`unknown flag --${name}; known flags: ${[...known].map((f) => `--${f}`).join(' ')}`);
  }
  const production = (flags.get('mode') ?? env.IMGROUP_MODE ?? 'development') === 'production';
  const options: RawOptions = {};
  for (const spec of specs) {
    const fromFlag = flags.get(spec.flag);
    const fromEnv = env[spec.env];
    let value: RawOptions[string];
    if (fromFlag !== undefined) value = convert(spec, fromFlag, `--${spec.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') value = convert(spec, fromEnv, spec.env);
    else value = spec.default;
    if (value === undefined && (spec.required || (production && spec.requiredInProduction))) {
      throw new ConfigError(
        `${spec.env} (or --${spec.flag}) must be set${spec.requiredInProduction && !spec.required ? ' in production mode' : ''}: ${spec.doc}`,
      );
    }
    options[spec.key] = value;
  }
  return { options, positionals };
}

/** Markdown rows for the README configuration table. */
export function optionsTable(title: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const def = s.default === undefined ? (s.required ? '(required)' : s.requiredInProduction ? '(required in production)' : '—') : `\`${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}\``;
    const range = s.kind === 'int' && (s.min !== undefined || s.max !== undefined) ? ` (${s.min ?? '…'}–${s.max ?? '…'})` : '';
    const choices = s.choices ? ` One of ${s.choices.map((c) => `\`${c}\``).join(', ')}.` : '';
    return `| \`${s.env}\` | \`--${s.flag}\` | ${def}${range} | ${s.doc}${choices} |`;
  });
  return [`#### ${title}`, '', '| Variable | Flag | Default | Meaning |', '|---|---|---|---|', ...rows, ''].join('\n');
}
