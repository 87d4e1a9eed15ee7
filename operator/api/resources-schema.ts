/**
 * Compute resources of a tier (`spec.gate.resources`, `spec.logic.resources`): the `limits` and
 * `requests` of a core/v1 ResourceRequirements, quantities as int-or-string like Kubernetes' own.
 */
import { intOrString, mapOf, object } from './schema-builder.js';

/** Kubernetes' resource.Quantity syntax (as controller-gen writes it into CRDs). */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

export interface ResourceDefaults {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

function quantities(what: string) {
  return mapOf(intOrString({ description: 'A quantity, e.g. 500m (CPU) or 512Mi (memory).', pattern: QUANTITY_PATTERN }), {
    description: `${what} by resource name (cpu, memory, …).`,
    maxProperties: 32,
  });
}

function formatList(list: Record<string, string>): string {
  return Object.entries(list).map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The resources schema of one tier, with that tier's default. */
export function resourcesSchema(tier: string, defaults: ResourceDefaults) {
  return object({
    description: `CPU and memory of every ${tier} container, as in a Pod's resources. Default: requests ${formatList(defaults.requests)}; limits ${formatList(defaults.limits)} (given only when the whole field is absent).`,
    default: { requests: { ...defaults.requests }, limits: { ...defaults.limits } },
    properties: {
      limits: quantities('Upper bounds'),
      requests: quantities('Amounts the scheduler reserves'),
    },
  });
}
