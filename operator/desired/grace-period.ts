/**
 * How long gate and logic pods get to stop. The runtime's own shutdown timeout is derived from
 * what its drain needs (runtime/gate/config.ts `gateDrainBudgetMs`, the logic node's
 * IMGROUP_LOGIC_SHUTDOWN_TIMEOUT_MS plus one Redis command for the last cursor flush), and the
 * pod's terminationGracePeriodSeconds is that plus GRACE_MARGIN_SECONDS, so the kubelet's SIGKILL
 * never cuts a drain short: the process always exits by itself first.
 */
import { specOf } from '../../runtime/config/options.js';
import { COMMON_OPTIONS } from '../../runtime/config/common-options.js';
import { GATE_OPTIONS, gateDrainBudgetMs, GRACE_MARGIN_SECONDS } from '../../runtime/gate/config.js';
import { LOGIC_OPTIONS } from '../../runtime/logic/config.js';

const REQUEST_TIMEOUT_MS = specOf(GATE_OPTIONS, 'requestTimeoutMs').default;
const REDIS_COMMAND_TIMEOUT_MS = specOf(COMMON_OPTIONS, 'redisCommandTimeoutMs').default;
const LOGIC_SHUTDOWN_TIMEOUT_MS = specOf(LOGIC_OPTIONS, 'shutdownTimeoutMs').default;

export interface ShutdownBudget {
  /** The process's own limit (IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS / IMGROUP_LOGIC_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  terminationGracePeriodSeconds: number;
}

/** A gate pod with drain window `drainWindowMs` (the other timeouts at their defaults, as the operator leaves them). */
export function gateShutdownBudget(drainWindowMs: number): ShutdownBudget {
  const shutdownTimeoutMs = gateDrainBudgetMs({ drainWindowMs, requestTimeoutMs: REQUEST_TIMEOUT_MS, redisCommandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS });
  return { shutdownTimeoutMs, terminationGracePeriodSeconds: Math.ceil(shutdownTimeoutMs / 1000) + GRACE_MARGIN_SECONDS };
}

/** A logic pod: its in-flight requests and fan-out within the shutdown timeout, then the last cursor flush. */
export function logicShutdownBudget(): ShutdownBudget {
  return {
    shutdownTimeoutMs: LOGIC_SHUTDOWN_TIMEOUT_MS,
    terminationGracePeriodSeconds: Math.ceil((LOGIC_SHUTDOWN_TIMEOUT_MS + REDIS_COMMAND_TIMEOUT_MS) / 1000) + GRACE_MARGIN_SECONDS,
  };
}
