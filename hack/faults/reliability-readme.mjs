#!/usr/bin/env node
// Writes the README "Reliability" tables from the fault suite's and the soak's JSON reports
// (test/faults/support/fault-report.ts; directory FAULTS_REPORT_DIR, default .faults/).
//   node hack/faults/reliability-readme.mjs faults   the fault-suite table
//   node hack/faults/reliability-readme.mjs soak     the soak figures
// Needs `make build` (the README splice is the one of `make docs`).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { spliceReadme } from '../../dist/runtime/cli/config-reference.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
const dir = process.env.FAULTS_REPORT_DIR ?? join(root, '.faults');
const readmePath = join(root, 'README.md');
const part = process.argv[2];
const MARKERS = {
  faults: { start: '<!-- reliability-faults:start -->', end: '<!-- reliability-faults:end -->' },
  soak: { start: '<!-- reliability-soak:start -->', end: '<!-- reliability-soak:end -->' },
};
if (!(part in MARKERS)) {
  console.error('usage: reliability-readme.mjs faults|soak');
  process.exit(2);
}

const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const ms = (v) => (v === null || v === undefined ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const codes = (c) => Object.entries(c ?? {}).map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
const machine = `${cpus().length} CPUs, Node ${process.versions.node}`;

function faultsTable() {
  const rows = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'soak.json')
    .map(read)
    .sort((a, b) => a.order - b.order);
  if (rows.length === 0) throw new Error(`no fault reports in ${dir}`);
  const at = rows.map((r) => r.at).sort().at(-1);
  const lines = [
    `Measured by \`make faults\` (${at.slice(0, 16).replace('T', ' ')} UTC, ${machine}; ${rows.length} scenarios).`,
    '',
    '| Scenario | Injected | Accepted | Delivered (members × accepted) | Lost | Duplicates | Time to recover | Error codes clients saw | Notes |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.injected} | ${r.accepted} | ${r.delivered} of ${r.expected} | ${r.lost} | ${r.duplicates} | ${ms(r.recoverMs)} | ${codes(r.codes)} | ${r.notes ?? ''} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

function soakPart() {
  const s = read('soak.json');
  const names = Object.keys(s.perMinute[0]?.heapMiB ?? {});
  const ramp = s.ramp.steps.map((x) => `${x.offeredPerSec}/s → ${x.achievedPerSec}/s (p99 ${ms(x.p99Ms)}${x.keptUp ? '' : ', did not keep up'})`).join('; ');
  const lines = [
    `Measured by \`make soak\` (${s.at.slice(0, 16).replace('T', ' ')} UTC, ${machine}): ${s.minutes} minutes, ${s.users} clients on ${s.groups} groups.`,
    '',
    `- **Rate**: measured maximum ${s.ramp.maxPerSec} sends/s (a ramp of 10 s steps on the soak's own cluster, before the soak: ${ramp}); the soak offered half, ${s.soakPerSec} sends/s.`,
    `- **Churn**: ${s.churnRounds} rounds of ${s.churnClientsPerRound} clients connecting and disconnecting (${s.churnFailures} failed rounds).`,
    ...(s.settleError ? [`- **Not every member caught up** (${s.gappedMembers} member×group sequences short of the head): ${s.settleError.split('\n').slice(0, 4).join(' / ')}`] : []),
    `- **Messages**: ${s.accepted} accepted, ${s.delivered} of ${s.expected} deliveries made, **${s.lost} lost**, ${s.duplicates} duplicates; error codes clients saw: ${codes(s.codes)}; sends given up: ${codes(s.rejected)}.`,
    s.memory.length === 0
      ? `- **Memory**: not judged (no process lived for enough samples; criterion: ${s.heapFlatCriterion}).`
      : `- **Memory**: ${s.memory.every((m) => m.flat) ? 'flat' : 'GREW'} — ${s.heapFlatCriterion}: ${s.memory.map((m) => `${m.life.replace(/#\d+$/, '')} ${m.fromMiB.toFixed(1)}→${m.toMiB.toFixed(1)} MiB over ${m.samples} min`).join(', ')}.`,
    `- **p99**: per minute below (not asserted: timing is reported, not a pass/fail bound on a shared machine); the minute's fault is injected at its start.`,
    '',
    `| Minute | Fault | Time to recover | Sends acked | p50 | p99 | ${names.map((n) => `${n} heap / RSS (MiB)`).join(' | ')} |`,
    `|---:|---|---:|---:|---:|---:|${names.map(() => '---:').join('|')}|`,
    ...s.perMinute.map(
      (r) => `| ${r.minute} | ${r.fault} | ${ms(r.recoverMs)} | ${r.acked} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${names.map((n) => `${r.heapMiB[n]} / ${r.rssMiB[n]}`).join(' | ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

const text = part === 'faults' ? faultsTable() : soakPart();
writeFileSync(readmePath, spliceReadme(readFileSync(readmePath, 'utf8'), text, MARKERS[part]));
console.log(`README.md: ${part} figures from ${dir}`);
