/**
 * Grace periods of gate and logic pods follow from their drains: the gate gets its drain window
 * (spec.gate.drainWindowMs) and a shutdown timeout that holds the whole drain, and each pod's
 * terminationGracePeriodSeconds exceeds its process's shutdown timeout, so the kubelet never
 * kills a drain. The env the operator writes passes the gate's own start-up rules.
 */
import { describe, expect, it } from 'vitest';
import { desiredGateStatefulSet } from '../../../../operator/desired/gate-statefulset.js';
import { desiredLogicStatefulSet } from '../../../../operator/desired/logic-statefulset.js';
import { resolveGateOptions } from '../../../../runtime/gate/config.js';
import { resolveLogicOptions } from '../../../../runtime/logic/config.js';
import { cluster, onlyContainer, resolveEnv } from './cluster-fixture.js';

const gatePod = (drainWindowMs?: number) => {
  const sts = desiredGateStatefulSet(cluster({ gate: { replicas: 2, ...(drainWindowMs === undefined ? {} : { drainWindowMs }) }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } }));
  const pod = sts.spec?.template.spec;
  return { grace: pod?.terminationGracePeriodSeconds, env: resolveEnv(onlyContainer(pod?.containers).env ?? [], 'chat-gate-0') };
};

describe('gate pods', () => {
  it.each([
    // window, IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS (window + 5 s requests + 2 s closes + 2 × 2 s Redis), grace (+5 s)
    [undefined, '10000', '21000', 26],
    [0, '0', '11000', 16],
    [60_000, '60000', '71000', 76],
    [600_000, '600000', '611000', 616],
  ])('drain window %s ms → IMGROUP_GATE_DRAIN_WINDOW_MS %s, shutdown timeout %s ms, grace %i s', (window, envWindow, shutdown, grace) => {
    const pod = gatePod(window);
    expect(pod.env.IMGROUP_GATE_DRAIN_WINDOW_MS).toBe(envWindow);
    expect(pod.env.IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS).toBe(shutdown);
    expect(pod.grace).toBe(grace);
    expect((pod.grace as number) * 1000).toBeGreaterThan(Number(shutdown));
  });

  it.each([0, 10_000, 600_000])('with a window of %i ms the env passes the gate’s own start-up checks', (window) => {
    const { options } = resolveGateOptions([], gatePod(window).env);
    expect(options.drainWindowMs).toBe(window);
  });
});

describe('logic pods', () => {
  it('get a grace period above their shutdown timeout plus the last cursor flush', () => {
    const sts = desiredLogicStatefulSet(cluster());
    const pod = sts.spec?.template.spec;
    const env = resolveEnv(onlyContainer(pod?.containers).env ?? [], 'chat-logic-0');
    const { options } = resolveLogicOptions([], env);
    expect(pod?.terminationGracePeriodSeconds).toBe(17);
    expect((pod?.terminationGracePeriodSeconds as number) * 1000).toBeGreaterThan(options.shutdownTimeoutMs + options.redisCommandTimeoutMs);
  });
});
