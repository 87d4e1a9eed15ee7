/**
 * How a hand edit of the cluster's auth Secret reaches the pods, which read its values at start:
 *
 *   - jwt-secret and admin-token are read by the gates alone. Their fingerprint is an annotation
 *     of the gate pod template (GATE_SECRETS_ANNOTATION), so an edit changes the template and the
 *     StatefulSet rolls the gates: afterwards tokens signed with the old JWT secret are refused.
 *   - internal-token (gate↔logic) and redis-password (every tier and Redis itself) must be equal
 *     on both ends of a connection, and a rolling restart would split old pods from new ones. The
 *     operator never rolls pods for them: it records the fingerprint the pods started with on the
 *     StatefulSet N-logic (SHARED_SECRETS_ANNOTATION, not in a pod template), and while the Secret
 *     differs from it, it reports the condition SecretsApplied=False (reason SharedSecretChanged)
 *     and holds the gates' template too (a gate started now would read the new values). The
 *     README's "Rotating secrets" says how to rotate them; removing the annotation acknowledges it.
 *
 * Fingerprints are HMAC-SHA256 keyed by a secret value itself, so an annotation tells nothing a
 * client token (an HMAC under the JWT secret) does not already tell. Pure.
 */
import { createHmac } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { AUTH_SECRET_KEYS, type AuthSecretValues } from './auth-secret.js';

export const GATE_SECRETS_ANNOTATION = 'imgroup.dev/gate-secrets-hash';
export const SHARED_SECRETS_ANNOTATION = 'imgroup.dev/shared-secrets-hash';

function fingerprint(key: string, label: string, value: string): string {
  return createHmac('sha256', key).update(`${label}\0${value}`).digest('hex').slice(0, 32);
}

/** Fingerprint of what gates alone read: jwt-secret and admin-token. */
export function gateSecretsHash(v: Pick<AuthSecretValues, 'jwtSecret' | 'adminToken'>): string {
  return fingerprint(v.jwtSecret, 'imgroup gate secrets', v.adminToken);
}

/** Fingerprint of what both ends of a connection read: internal-token and redis-password. */
export function sharedSecretsHash(v: Pick<AuthSecretValues, 'internalToken' | 'redisPassword'>): string {
  return fingerprint(v.internalToken, 'imgroup shared secrets', v.redisPassword);
}

/** Decoded values of an auth Secret, or the keys it lacks (missing or empty). */
export function authSecretValues(secret: V1Secret): { ok: true; values: AuthSecretValues } | { ok: false; missing: string[] } {
  const values: Partial<AuthSecretValues> = {};
  const missing: string[] = [];
  for (const [field, key] of Object.entries(AUTH_SECRET_KEYS) as [keyof AuthSecretValues, string][]) {
    const raw = secret.data?.[key];
    const value = typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8') : (secret.stringData?.[key] ?? '');
    if (value.length === 0) missing.push(key);
    else values[field] = value;
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, values: values as AuthSecretValues };
}

/** What the live objects record: the gate template's fingerprint and the shared one on N-logic. */
export interface LiveSecretFingerprints {
  gateTemplate?: string | undefined;
  shared?: string | undefined;
}

export type SecretsState =
  /** The pods follow the Secret (gates roll on jwt-secret/admin-token edits). */
  | { kind: 'applied' }
  /** internal-token or redis-password differ from what the pods started with. */
  | { kind: 'sharedChanged' }
  /** The Secret is absent or lacks keys: nothing is changed (the pods cannot start anyway). */
  | { kind: 'unreadable'; reason: string };

export interface SecretRollout {
  /** GATE_SECRETS_ANNOTATION of the gate pod template; undefined: none. */
  gateHash: string | undefined;
  /** SHARED_SECRETS_ANNOTATION of N-logic; undefined: none. */
  sharedHash: string | undefined;
  state: SecretsState;
}

/**
 * The fingerprints to apply, given the Secret's values (or why they cannot be read) and what
 * the live objects record. An absent record of the shared fingerprint (a new cluster, an older
 * operator's objects, or a rotation acknowledged) adopts the Secret's values.
 */
export function secretRollout(current: AuthSecretValues | { unreadable: string }, live: LiveSecretFingerprints): SecretRollout {
  if ('unreadable' in current) return { gateHash: live.gateTemplate, sharedHash: live.shared, state: { kind: 'unreadable', reason: current.unreadable } };
  const shared = sharedSecretsHash(current);
  if (live.shared !== undefined && live.shared !== shared) {
    return { gateHash: live.gateTemplate ?? gateSecretsHash(current), sharedHash: live.shared, state: { kind: 'sharedChanged' } };
  }
  return { gateHash: gateSecretsHash(current), sharedHash: shared, state: { kind: 'applied' } };
}
