import { describe, expect, it } from 'vitest';
import { commandHelp } from '../../../runtime/cli/command-help.js';
import { BENCH_OPTIONS } from '../../../runtime/bench/bench-options.js';
import { GATE_OPTIONS } from '../../../runtime/gate/config.js';
import { LOGIC_OPTIONS } from '../../../runtime/logic/config.js';

describe('imgroup <command> --help', () => {
  it.each([
    ['gate', GATE_OPTIONS],
    ['logic', LOGIC_OPTIONS],
    ['bench', BENCH_OPTIONS],
  ] as const)('%s lists every flag with its environment variable', (command, specs) => {
    const help = commandHelp(command);
    expect(help).not.toBeNull();
    for (const s of specs) {
      expect(help).toContain(`--${s.flag}`);
      expect(help).toContain(`(${s.env})`);
    }
  });

  it('shows defaults and bounds', () => {
    expect(commandHelp('bench')).toMatch(/--group-size <n> {3}\(IMGROUP_BENCH_GROUP_SIZE\)\n {6}.*\[default 1000; 1–1000000\]/);
  });

  it('has nothing for an unknown command', () => {
    expect(commandHelp('nope')).toBeNull();
  });
});
