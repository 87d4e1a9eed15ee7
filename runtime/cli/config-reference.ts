/**
 * The configuration reference: one Markdown table per process kind, generated from the option
 * specs themselves. `make docs` writes it into README.md between the config-table markers, and a
 * test fails when the README is out of date.
 */
import { BENCH_OPTIONS } from '../bench/bench-options.js';
import { COMMON_OPTIONS } from '../config/common-options.js';
import type { OptionSpec } from '../config/options.js';
import { DEV_OPTIONS } from '../dev/dev-options.js';
import { GATE_ONLY_OPTIONS } from '../gate/config.js';
import { LOGIC_OWN_OPTIONS } from '../logic/config.js';
import { OPERATOR_OPTIONS } from '../../operator/operator-options.js';
import { boundsText, defaultText, requirementText } from './option-text.js';
import { TOKEN_OPTIONS } from './token-command.js';

export const README_START = '<!-- config-table:start -->';
export const README_END = '<!-- config-table:end -->';

/** The Markdown table of one process kind's options. */
export function optionsTable(title: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const def = defaultText(s);
    const bounds = boundsText(s);
    const value = `${def === undefined ? (requirementText(s) ? `(${requirementText(s)})` : '—') : `\`${def}\``}${bounds ? ` (${bounds})` : ''}`;
    const choices = s.choices ? ` One of ${s.choices.map((c) => `\`${c}\``).join(', ')}.` : '';
    return `| \`${s.env}\` | \`--${s.flag}\` | ${value} | ${s.doc}${choices} |`;
  });
  return [`#### ${title}`, '', '| Variable | Flag | Default | Meaning |', '|---|---|---|---|', ...rows, ''].join('\n');
}

export function configReference(): string {
  return [
    optionsTable('Every process (`imgroup gate`, `imgroup logic`)', COMMON_OPTIONS),
    optionsTable('Gate (`imgroup gate`)', GATE_ONLY_OPTIONS),
    optionsTable('Logic node (`imgroup logic`)', LOGIC_OWN_OPTIONS),
    optionsTable('Local cluster (`imgroup dev`, `make run`)', DEV_OPTIONS),
    optionsTable('Tokens (`imgroup token <userId>`)', TOKEN_OPTIONS),
    optionsTable('Benchmark (`imgroup bench`)', BENCH_OPTIONS),
    optionsTable('Operator (`imgroup operator`)', OPERATOR_OPTIONS),
  ].join('\n');
}

/**
 * README text with the generated reference between the markers (by default the configuration
 * table's; the chart's values table has its own, runtime/cli/values-reference.ts).
 */
export function spliceReadme(readme: string, reference: string, markers: { start: string; end: string } = { start: README_START, end: README_END }): string {
  const start = readme.indexOf(markers.start);
  const end = readme.indexOf(markers.end);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${markers.start} … ${markers.end} markers`);
  return `${readme.slice(0, start + markers.start.length)}\n${reference}${readme.slice(end)}`;
}
