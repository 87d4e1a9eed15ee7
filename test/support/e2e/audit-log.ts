/**
 * The API server's audit log of the e2e control plane (global-e2e.ts: every write at level
 * Metadata, JSON lines): who — which authenticated user — created, updated, patched or deleted
 * which object. The proof that the operator acts as its ServiceAccount and as nothing else.
 */
import { readFileSync } from 'node:fs';

export interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
}

export interface AuditFilter {
  resource: string;
  namespace?: string;
  /** Events of a create may carry no name (it is in the body): they match any name. */
  name?: string;
  subresource?: string;
}

/** Every complete event of the log (a line still being written is skipped). */
export function readAuditEvents(path: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      // the last line, half written
    }
  }
  return events;
}

/** The users whose writes matching `filter` the API server accepted (2xx), by verb. */
export function acceptedWriters(path: string, filter: AuditFilter): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  for (const e of readAuditEvents(path)) {
    const ref = e.objectRef;
    if (e.stage !== 'ResponseComplete' || !ref || ref.resource !== filter.resource) continue;
    if (filter.namespace !== undefined && ref.namespace !== filter.namespace) continue;
    if (filter.name !== undefined && ref.name !== undefined && ref.name !== filter.name) continue;
    if ((ref.subresource ?? '') !== (filter.subresource ?? '')) continue;
    const code = e.responseStatus?.code ?? 0;
    if (code < 200 || code >= 300) continue;
    const verbs = writers.get(e.user.username) ?? new Set<string>();
    verbs.add(e.verb);
    writers.set(e.user.username, verbs);
  }
  return writers;
}

/** `system:serviceaccount:<namespace>:<name>`, as the API server authenticates a ServiceAccount token. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}
