/**
 * Files of the Helm chart charts/imgroup as the unit tests read them (parsed YAML and JSON).
 */
import { readFileSync } from 'node:fs';
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import type { JsonSchema } from './json-schema.js';

export const CHART_DIR = new URL('../../charts/imgroup/', import.meta.url);

export function chartText(path: string): string {
  return readFileSync(new URL(path, CHART_DIR), 'utf8');
}

/** A YAML file of the chart; loadYaml of the client leaves objects without apiVersion/kind as they are. */
export function chartYaml<T = Record<string, unknown>>(path: string): T {
  return loadYaml<T>(chartText(path));
}

/** Every document of a YAML file of the chart. */
export function chartYamlDocuments<T = Record<string, unknown>>(path: string): T[] {
  return loadAllYaml(chartText(path)) as T[];
}

export function valuesSchema(): JsonSchema {
  return JSON.parse(chartText('values.schema.json')) as JsonSchema;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
