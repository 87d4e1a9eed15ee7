/**
 * `imgroup <command> --help`: the command's flags, each with its environment variable, default,
 * bounds and meaning — the same specs the README table is generated from, as plain text for a
 * terminal.
 */
import { BENCH_OPTIONS } from '../bench/bench-options.js';
import type { OptionSpec } from '../config/options.js';
import { childSettingsHelp } from '../dev/child-settings.js';
import { DEV_OPTIONS } from '../dev/dev-options.js';
import { GATE_OPTIONS } from '../gate/config.js';
import { LOGIC_OPTIONS } from '../logic/config.js';
import { OPERATOR_OPTIONS } from '../../operator/operator-options.js';
import { boundsText, defaultText, requirementText } from './option-text.js';
import { TOKEN_OPTIONS } from './token-command.js';

const COMMANDS: Readonly<Record<string, { usage: string; specs: readonly OptionSpec[]; notes?: () => string }>> = {
  gate: { usage: 'imgroup gate [flags]', specs: GATE_OPTIONS },
  logic: { usage: 'imgroup logic [flags]', specs: LOGIC_OPTIONS },
  operator: { usage: 'imgroup operator [flags]', specs: OPERATOR_OPTIONS },
  dev: { usage: 'imgroup dev [flags]', specs: DEV_OPTIONS, notes: childSettingsHelp },
  bench: { usage: 'imgroup bench [flags]', specs: BENCH_OPTIONS },
  token: { usage: 'imgroup token <userId> [flags]', specs: TOKEN_OPTIONS },
};

/** Help text of one command, or null for a command without flags of its own. */
export function commandHelp(command: string): string | null {
  const c = COMMANDS[command];
  if (!c) return null;
  const lines = [`usage: ${c.usage}`, '', 'flags (each also read from its environment variable):'];
  for (const s of c.specs) {
    const value = s.kind === 'bool' ? '[=true|false]' : s.kind === 'int' ? ' <n>' : s.kind === 'list' ? ' <a,b,…>' : ' <value>';
    lines.push(`  --${s.flag}${value}   (${s.env})`);
    lines.push(`      ${s.doc}${describeValue(s)}`);
  }
  if (c.notes) lines.push('', c.notes());
  return `${lines.join('\n')}\n`;
}

function describeValue(s: OptionSpec): string {
  const parts: string[] = [];
  const def = defaultText(s);
  const requirement = def === undefined ? requirementText(s) : undefined;
  const bounds = boundsText(s);
  if (def !== undefined) parts.push(`default ${def}`);
  if (requirement) parts.push(requirement);
  if (bounds) parts.push(bounds);
  if (s.choices) parts.push(`one of ${s.choices.join(', ')}`);
  return parts.length > 0 ? ` [${parts.join('; ')}]` : '';
}
