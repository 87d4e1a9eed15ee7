/**
 * The ImGroupCluster condition gauges: what the alert "ImGroupClusterDegraded" reads. One series per
 * cluster and operator condition type, 1 for True, 0 otherwise; foreign types never become series;
 * a deleted cluster leaves no series behind.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../../../../operator/api/v1alpha1.js';
import { createControllerMetrics, forgetClusterConditions, recordClusterConditions } from '../../../../operator/controller/controller-metrics.js';
import { parseExposition } from '../../../support/exposition.js';

const T = '2026-01-01T00:00:00Z';
const condition = (type: string, status: Condition['status']): Condition => ({ type, status, reason: 'R', message: 'm', lastTransitionTime: T });

async function series(registry: Registry): Promise<Record<string, number>> {
  const family = parseExposition(await registry.metrics()).get('imgroup_operator_cluster_condition');
  const out: Record<string, number> = {};
  for (const s of family?.samples ?? []) out[`${s.labels.cluster} ${s.labels.condition}`] = s.value;
  return out;
}

describe('imgroup_operator_cluster_condition', () => {
  it('is 1 for a True condition and 0 for False or Unknown, per cluster', async () => {
    const registry = new Registry();
    const m = createControllerMetrics(registry);
    recordClusterConditions(m, 'chat/a', [condition('Ready', 'False'), condition('Degraded', 'True'), condition('Progressing', 'Unknown')]);
    recordClusterConditions(m, 'other/b', [condition('Ready', 'True'), condition('Degraded', 'False')]);
    expect(await series(registry)).toEqual({
      'chat/a Ready': 0,
      'chat/a Degraded': 1,
      'chat/a Progressing': 0,
      'other/b Ready': 1,
      'other/b Degraded': 0,
    });
  });

  it('follows the latest status: a recovered cluster reads 0, a type no longer set is dropped', async () => {
    const registry = new Registry();
    const m = createControllerMetrics(registry);
    recordClusterConditions(m, 'chat/a', [condition('Degraded', 'True'), condition('SlotsAssigned', 'False')]);
    recordClusterConditions(m, 'chat/a', [condition('Degraded', 'False')]);
    expect(await series(registry)).toEqual({ 'chat/a Degraded': 0 });
  });

  it('exports only the operator\'s condition types (a hand-written type is not a series)', async () => {
    const registry = new Registry();
    const m = createControllerMetrics(registry);
    recordClusterConditions(m, 'chat/a', [condition('MyOwnCheck', 'True'), condition('Ready', 'True')]);
    expect(await series(registry)).toEqual({ 'chat/a Ready': 1 });
  });

  it('leaves nothing of a deleted cluster', async () => {
    const registry = new Registry();
    const m = createControllerMetrics(registry);
    recordClusterConditions(m, 'chat/a', [condition('Ready', 'True'), condition('Degraded', 'True')]);
    recordClusterConditions(m, 'chat/b', [condition('Ready', 'True')]);
    forgetClusterConditions(m, 'chat/a');
    expect(await series(registry)).toEqual({ 'chat/b Ready': 1 });
  });
});
