/**
 * The ports of the pods. Gate and logic ports are the runtime's own defaults (set explicitly in
 * the pods' environment all the same); Redis uses its standard client and cluster-bus ports.
 */
import type { OptionSpec } from '../../runtime/config/options.js';
import { GATE_ONLY_OPTIONS } from '../../runtime/gate/config.js';
import { LOGIC_OWN_OPTIONS } from '../../runtime/logic/config.js';

function defaultPort(specs: readonly OptionSpec[], env: string): number {
  const value = specs.find((s) => s.env === env)?.default;
  if (typeof value !== 'number') throw new Error(`runtime option ${env} has no numeric default`);
  return value;
}

/** Gate client port: WebSocket `/v1/ws` and the admin API (container port `client`). */
export const GATE_CLIENT_PORT = defaultPort(GATE_ONLY_OPTIONS, 'IMGROUP_GATE_PORT');
/** Gate ops port: /healthz, /readyz, /metrics (container port `ops`). */
export const GATE_OPS_PORT = defaultPort(GATE_ONLY_OPTIONS, 'IMGROUP_OPS_PORT');
/** Logic internal endpoint `/v1/internal` that gates connect to (container port `internal`). */
export const LOGIC_INTERNAL_PORT = defaultPort(LOGIC_OWN_OPTIONS, 'IMGROUP_LOGIC_PORT');
/** Name of the logic container's port that gates connect to. */
export const LOGIC_INTERNAL_PORT_NAME = 'internal';
/** Logic ops port (container port `ops`). */
export const LOGIC_OPS_PORT = defaultPort(LOGIC_OWN_OPTIONS, 'IMGROUP_OPS_PORT');
export const REDIS_PORT = 6379;
export const REDIS_BUS_PORT = 16379;
