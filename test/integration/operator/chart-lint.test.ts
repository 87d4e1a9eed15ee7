/**
 * `make lint` keeps the chart honest inside `make test`: hack/helm/lint.sh runs the values matrix
 * of hack/helm/lint-cases (helm lint --strict with helm 4 and helm 3, helm template, and a
 * server-side dry-run of every rendered object in namespaces that enforce and warn on the
 * restricted Pod Security Standard) against the shared test control plane.
 *
 * The lint itself is tested on a fixture chart (test/fixtures/helm/lint-probe) that breaks in one
 * way at a time: each breakage must fail the run, naming the case and what the API server or helm
 * said; the unbroken chart must pass.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../../support/operator-fixture.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const LINT = join(REPO, 'hack/helm/lint.sh');
const PROBE_CHART = join(REPO, 'test/fixtures/helm/lint-probe');
/** Compiling helm 4 and 3 from empty Go caches takes minutes on 2 cores; `make test` builds it first. */
const HELM_BUILD_TIMEOUT_MS = 30 * 60_000;
const LINT_TIMEOUT_MS = 10 * 60_000;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The case names of a cases file (first word of each line that is not blank or a comment). */
function caseNames(casesFile: string): string[] {
  return readFileSync(casesFile, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

describe('make lint (hack/helm/lint.sh) against the shared control plane', () => {
  let kubeconfig: string;
  let work: string;
  const lint = (...args: string[]) =>
    run(LINT, ['--kubeconfig', kubeconfig, '--namespace-prefix', uniqueName('lint'), ...args], LINT_TIMEOUT_MS);

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    work = mkdtempSync(join(tmpdir(), 'imgroup-chart-lint-'));
    const build = await run(join(REPO, 'hack/helm/build.sh'), [], HELM_BUILD_TIMEOUT_MS);
    expect(build.code, build.stderr).toBe(0);
  }, HELM_BUILD_TIMEOUT_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes every case of the chart’s matrix, each object accepted by the API server', async () => {
    const rendered = join(work, 'imgroup');
    const res = await lint('--rendered-dir', rendered);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
    const cases = caseNames(join(REPO, 'hack/helm/lint-cases'));
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const name of cases) {
      expect(res.stdout).toMatch(new RegExp(`^ok +${name}: helm lint --strict \\(helm 4, helm 3\\), helm template, \\d+ objects accepted`, 'm'));
    }
    expect(readdirSync(rendered).sort()).toEqual(cases.map((c) => `${c}.yaml`).sort());
  }, LINT_TIMEOUT_MS);

  it('passes the unbroken fixture chart, the ServiceMonitor included when its API is available', async () => {
    const rendered = join(work, 'probe');
    const res = await lint('--chart', PROBE_CHART, '--cases', join(PROBE_CHART, 'lint-cases'), '--rendered-dir', rendered);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(res.stdout).toMatch(/^ok +defaults: .* 2 objects accepted/m);
    expect(res.stdout).toMatch(/^ok +monitoring: .* 3 objects accepted/m);
    expect(res.stdout).toMatch(/^ok +ha: .* 2 objects accepted/m);
    expect(readFileSync(join(rendered, 'monitoring.yaml'), 'utf8')).toContain('kind: ServiceMonitor');
    expect(readFileSync(join(rendered, 'ha.yaml'), 'utf8')).toContain('replicas: 2');
  }, LINT_TIMEOUT_MS);

  it.each([
    { breakage: 'a value of the wrong type', flags: '--set replicaCount=two', fails: /helm lint --strict failed/, says: /replicaCount/ },
    { breakage: 'a misspelt Deployment field', flags: '--set breakage=unknownField', fails: /the API server rejected objects/, says: /restartPolicyy/ },
    { breakage: 'a privileged container', flags: '--set breakage=privileged', fails: /the API server warned/, says: /violate PodSecurity "restricted.*privileged/ },
    {
      breakage: 'a misspelt ServiceMonitor field',
      flags: '--set serviceMonitor=true --set breakage=monitorTypo --api-versions monitoring.coreos.com/v1',
      fails: /the API server rejected objects/,
      says: /endpoint/,
    },
  ])('fails a chart with $breakage, naming the case and the cause', async ({ flags, fails, says }) => {
    const cases = join(work, `cases-${uniqueName('probe')}`);
    writeFileSync(cases, `broken ${flags}\n`);
    const res = await lint('--chart', PROBE_CHART, '--cases', cases);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`^FAIL broken: ${fails.source}`, 'm'));
    expect(res.stderr).toMatch(says);
  }, LINT_TIMEOUT_MS);
});
