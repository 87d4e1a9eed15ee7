/**
 * How an option's default, requirement and bounds read in the generated documentation: the README
 * configuration table (config-reference.ts) and `imgroup <command> --help` (command-help.ts) say
 * them the same way, from the spec.
 */
import type { OptionSpec } from '../config/options.js';

/** The default as a user would type it (a list comma-separated); undefined without one. */
export function defaultText(s: OptionSpec): string | undefined {
  if (s.default === undefined) return undefined;
  return typeof s.default === 'object' ? s.default.join(',') : String(s.default);
}

/** What an option without a default needs: a value always, in production mode, or none. */
export function requirementText(s: OptionSpec): 'required' | 'required in production' | undefined {
  if (s.required) return 'required';
  return s.requiredInProduction ? 'required in production' : undefined;
}

/** `min–max` of an integer option; undefined for other kinds. */
export function boundsText(s: OptionSpec): string | undefined {
  return s.kind === 'int' && (s.min !== undefined || s.max !== undefined) ? `${s.min ?? '…'}–${s.max ?? '…'}` : undefined;
}
