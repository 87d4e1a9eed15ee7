/**
 * Which `IMGROUP_*` variables of its own environment `imgroup dev` hands to the gates and logic
 * nodes it starts. Every runtime setting of `imgroup gate` and `imgroup logic` is passed through
 * (`IMGROUP_RATE_PER_SEC=100 make run` works as the README promises), except two groups:
 *
 * - settings `imgroup dev` reads itself (its own flags: secrets, heartbeat, log level), which it
 *   passes on as it resolved them;
 * - settings the local cluster must own because it sets them per process (ports, addresses,
 *   node names, Redis seeds, the internal token, the membership file, the mode). One of those in
 *   the environment is refused, naming the variable and what to use instead: silently overriding
 *   it would be the very surprise this module exists to remove.
 */
import { ConfigError, type OptionSpec, resolveOptions } from '../config/options.js';
import { GATE_OPTIONS } from '../gate/config.js';
import { LOGIC_OPTIONS } from '../logic/config.js';
import { DEV_OPTIONS } from './dev-options.js';

/** Settings the dev cluster sets for each process, with what to do instead. */
export const DEV_OWNED_SETTINGS: Readonly<Record<string, string>> = {
  IMGROUP_MODE: 'the local cluster always runs in development mode',
  IMGROUP_NODE_NAME: 'processes are named logic-<i> and gate-<i>',
  IMGROUP_REDIS_SEEDS: 'the local cluster starts its own Redis Cluster; move it with --redis-port (IMGROUP_DEV_REDIS_PORT)',
  IMGROUP_REDIS_PASSWORD: 'the local Redis Cluster has no password',
  IMGROUP_REDIS_TLS: 'use --redis-tls-dir (IMGROUP_DEV_REDIS_TLS_DIR)',
  IMGROUP_REDIS_TLS_CA_FILE: 'use --redis-tls-dir (IMGROUP_DEV_REDIS_TLS_DIR)',
  IMGROUP_REDIS_TLS_CERT_FILE: 'the local Redis Cluster does not ask for client certificates',
  IMGROUP_REDIS_TLS_KEY_FILE: 'the local Redis Cluster does not ask for client certificates',
  IMGROUP_INTERNAL_TOKEN: 'a fresh internal token is generated for every run',
  IMGROUP_OPS_HOST: 'use --host (IMGROUP_DEV_HOST)',
  IMGROUP_GATE_HOST: 'use --host (IMGROUP_DEV_HOST)',
  IMGROUP_LOGIC_HOST: 'use --host (IMGROUP_DEV_HOST)',
  IMGROUP_GATE_PORT: 'use --gate-port (IMGROUP_DEV_GATE_PORT)',
  IMGROUP_LOGIC_PORT: 'use --logic-port (IMGROUP_DEV_LOGIC_PORT)',
  IMGROUP_OPS_PORT: 'use --gate-ops-port and --logic-ops-port (IMGROUP_DEV_GATE_OPS_PORT, IMGROUP_DEV_LOGIC_OPS_PORT)',
  IMGROUP_MEMBERSHIP_FILE: 'the local cluster writes its own membership file',
  IMGROUP_MEMBERSHIP_CONFIGMAP: 'the local cluster uses a membership file, not a ConfigMap',
  IMGROUP_KUBECONFIG: 'the local cluster uses a membership file, not a ConfigMap',
  IMGROUP_SERVICE_ACCOUNT_DIR: 'the local cluster uses a membership file, not a ConfigMap',
};

/** Every runtime setting of gates and logic nodes, once, by variable. */
function runtimeSpecs(): Map<string, OptionSpec> {
  const specs = new Map<string, OptionSpec>();
  for (const spec of [...GATE_OPTIONS, ...LOGIC_OPTIONS]) specs.set(spec.env, spec);
  return specs;
}

export interface ChildSettings {
  /** Variables for every gate and logic node (each ignores those of the other kind). */
  env: Record<string, string>;
  /** The same, for printing: secrets masked. */
  shown: string[];
}

/**
 * The runtime settings in `env` to pass to every child. Throws ConfigError naming the first
 * variable the dev cluster owns, or a value a gate or logic node would refuse (checked here, so
 * that the mistake is reported before a Redis Cluster is started for nothing).
 */
export function childSettings(env: Readonly<Record<string, string | undefined>>): ChildSettings {
  const readByDev = new Set(DEV_OPTIONS.map((s) => s.env));
  const out: ChildSettings = { env: {}, shown: [] };
  for (const [name, spec] of runtimeSpecs()) {
    const value = env[name];
    if (value === undefined || value === '' || readByDev.has(name)) continue;
    const owned = DEV_OWNED_SETTINGS[name];
    if (owned !== undefined) {
      throw new ConfigError(`${name} is set, but \`imgroup dev\` sets it for each process itself (${owned}); unset it to run the local cluster`);
    }
    out.env[name] = value;
    out.shown.push(`${name}=${spec.kind === 'secret' ? '…' : value}`);
  }
  resolveOptions(GATE_OPTIONS, [], out.env);
  resolveOptions(LOGIC_OPTIONS, [], out.env);
  return out;
}

/** The `imgroup dev --help` paragraph about it. */
export function childSettingsHelp(): string {
  return [
    'Every other IMGROUP_* setting of `imgroup gate` and `imgroup logic` found in the environment is',
    'passed to each gate and logic node (e.g. `IMGROUP_RATE_PER_SEC=100 make run`); each child ignores',
    'the settings of the other kind. These are set by the local cluster itself and refused:',
    `${Object.keys(DEV_OWNED_SETTINGS).join(', ')}.`,
  ].join('\n');
}
