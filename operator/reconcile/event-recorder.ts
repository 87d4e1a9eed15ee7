/**
 * core/v1 Events on the ImGroupCluster for what the operator did or could not do. The same
 * (object, reason, message) is recorded at most once per `repeatWindowMs`, so a failing reconcile
 * retried with backoff does not flood the namespace. Recording never throws: an Event that cannot
 * be written is logged and dropped.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { API_VERSION, KIND } from '../api/v1alpha1.js';
import { MANAGER } from '../desired/object-meta.js';

export interface EventTarget {
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export interface EventRecorderOptions {
  core: CoreV1Api;
  log: Logger;
  /** Default 300000 ms. */
  repeatWindowMs?: number;
  /** Bound on remembered (object, reason, message) keys. Default 10000. */
  maxRemembered?: number;
  now?: () => number;
}

const MAX_MESSAGE_CHARS = 1024;

export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const repeatWindowMs = opts.repeatWindowMs ?? 300_000;
  const maxRemembered = opts.maxRemembered ?? 10_000;
  const now = opts.now ?? Date.now;
  const last = new Map<string, number>();
  return {
    async record(target, type, reason, message) {
      const key = `${target.namespace}/${target.name}/${target.uid ?? ''}/${reason}/${message}`;
      const t = now();
      const prev = last.get(key);
      if (prev !== undefined && t - prev < repeatWindowMs) return;
      last.delete(key);
      last.set(key, t);
      if (last.size > maxRemembered) {
        const oldest = last.keys().next().value;
        if (oldest !== undefined) last.delete(oldest);
      }
      const time = new Date(t);
      try {
        await opts.core.createNamespacedEvent({
          namespace: target.namespace,
          body: {
            metadata: { generateName: `${target.name}.`, namespace: target.namespace },
            involvedObject: { apiVersion: API_VERSION, kind: KIND, name: target.name, namespace: target.namespace, ...(target.uid ? { uid: target.uid } : {}) },
            type,
            reason,
            message: message.slice(0, MAX_MESSAGE_CHARS),
            source: { component: MANAGER },
            reportingComponent: MANAGER,
            reportingInstance: MANAGER,
            firstTimestamp: time,
            lastTimestamp: time,
            count: 1,
          },
        });
      } catch (err) {
        opts.log.warn({ err, reason, object: `${target.namespace}/${target.name}` }, 'event not recorded');
      }
    },
  };
}

/** The Event target of an ImGroupCluster. */
export function eventTarget(cluster: { metadata: { name?: string; namespace?: string; uid?: string } }): EventTarget {
  return { name: cluster.metadata.name ?? '', namespace: cluster.metadata.namespace ?? '', ...(cluster.metadata.uid ? { uid: cluster.metadata.uid } : {}) };
}
