/**
 * The CustomResourceDefinition `imgroupclusters.imgroup.dev`, built from the schemas. It is plain
 * JSON in the wire format (`x-kubernetes-validations`, not the client library's renamed model
 * fields): apply it as it is (kubectl, Helm, or a raw request), not through a typed client's
 * serializer, which would drop the `x-kubernetes-*` keys.
 */
import { CLUSTER_NAME_RULES } from './cluster-name.js';
import { applySchemaDefaults } from './defaults.js';
import type { JsonSchemaProps, SchemaNode, ValidationRule } from './schema-builder.js';
import { specSchema } from './spec-schema.js';
import { statusSchema } from './status-schema.js';
import { API_VERSION, CRD_NAME, GROUP, KIND, LIST_KIND, PLURAL, SHORT_NAME, SINGULAR, VERSION } from './v1alpha1.js';

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JsonSchemaProps };
    }[];
  };
}

export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  { name: 'Gates', type: 'integer', jsonPath: '.status.gate.ready', description: 'Ready gate pods' },
  { name: 'Logic', type: 'integer', jsonPath: '.status.logic.ready', description: 'Ready logic pods' },
  { name: 'Redis', type: 'string', jsonPath: '.status.redis.state', description: 'State of the Redis Cluster' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'The Ready condition' },
  { name: 'Members', type: 'integer', jsonPath: '.status.membership.members', description: 'Logic pods in the published membership', priority: 1 },
  { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', description: 'The operator changes nothing while paused', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation' },
];

function wireRules(rules: readonly ValidationRule[]): ValidationRule[] {
  return rules.map(({ rule, message, fieldPath, reason }) => ({
    rule,
    message,
    ...(fieldPath !== undefined ? { fieldPath } : {}),
    ...(reason !== undefined ? { reason } : {}),
  }));
}

/** The OpenAPI v3 form of a schema node. */
export function toOpenApi(node: SchemaNode): JsonSchemaProps {
  const out: JsonSchemaProps = { description: node.description };
  if (node.kind === 'int-or-string') {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    out['x-kubernetes-int-or-string'] = true;
  } else {
    out.type = node.kind === 'map' ? 'object' : node.kind;
  }
  if (node.format !== undefined) out.format = node.format;
  if (node.enum !== undefined) out.enum = [...node.enum];
  // An object's default is written with its fields' defaults filled in: the API server checks a
  // default against the CEL rules of its node without applying the nested defaults first.
  if (node.default !== undefined) out.default = node.kind === 'object' ? applySchemaDefaults(node, node.default) : structuredClone(node.default);
  if (node.minimum !== undefined) out.minimum = node.minimum;
  if (node.maximum !== undefined) out.maximum = node.maximum;
  if (node.minLength !== undefined) out.minLength = node.minLength;
  if (node.maxLength !== undefined) out.maxLength = node.maxLength;
  if (node.pattern !== undefined) out.pattern = node.pattern;
  if (node.maxItems !== undefined) out.maxItems = node.maxItems;
  if (node.maxProperties !== undefined) out.maxProperties = node.maxProperties;
  if (node.properties !== undefined) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, child]) => [k, toOpenApi(child)]));
  }
  if (node.required !== undefined && node.required.length > 0) out.required = [...node.required];
  if (node.values !== undefined) out.additionalProperties = toOpenApi(node.values);
  if (node.items !== undefined) out.items = toOpenApi(node.items);
  if (node.listType !== undefined) out['x-kubernetes-list-type'] = node.listType;
  if (node.listMapKeys !== undefined) out['x-kubernetes-list-map-keys'] = [...node.listMapKeys];
  if (node.rules.length > 0) out['x-kubernetes-validations'] = wireRules(node.rules);
  return out;
}

/** The root schema of the custom resource. */
export function openApiSchema(): JsonSchemaProps {
  return {
    description: 'ImGroupCluster runs an imgroup group-chat backend: gate and logic StatefulSets, their Services, the membership ConfigMap the gates route by, and a Redis Cluster, all owned by this object.',
    type: 'object',
    properties: {
      apiVersion: { description: `APIVersion of this object: ${API_VERSION}.`, type: 'string' },
      kind: { description: `Kind of this object: ${KIND}.`, type: 'string' },
      metadata: { type: 'object' },
      spec: toOpenApi(specSchema),
      status: toOpenApi(statusSchema),
    },
    'x-kubernetes-validations': wireRules(CLUSTER_NAME_RULES),
  };
}

export function imGroupClusterCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/part-of': 'imgroup' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: LIST_KIND, plural: PLURAL, singular: SINGULAR, shortNames: [SHORT_NAME], categories: ['imgroup'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: openApiSchema() },
        },
      ],
    },
  };
}
