/**
 * The outcomes of a reconcile, made explicit (controller-runtime's pkg/reconcile):
 * - `done`: converged, nothing to wait for (the informers bring the next change);
 * - `requeueAfter`: waiting for something outside the operator (pods becoming ready): try again later;
 * - `requeue`: not converged and not an operator error (a Redis step that could not reach its
 *   cluster): try again after the key's backoff (controller-runtime's `Result{Requeue: true}`);
 * - `transient`: an error worth retrying (API unavailable, 409 conflict exhausted): requeue with backoff;
 * - `terminal`: retrying cannot help (invalid spec that bypassed validation): recorded in status and
 *   as an Event, not requeued until the object changes.
 */
export type ReconcileOutcome =
  | { kind: 'done' }
  | { kind: 'requeueAfter'; afterMs: number; reason: string }
  | { kind: 'requeue'; reason: string }
  | { kind: 'transient'; error: Error }
  | { kind: 'terminal'; error: Error };

/** The `result` label of controller_runtime_reconcile_total for an outcome. */
export function outcomeLabel(outcome: ReconcileOutcome): 'success' | 'requeue_after' | 'requeue' | 'error' | 'terminal' {
  switch (outcome.kind) {
    case 'done':
      return 'success';
    case 'requeueAfter':
      return 'requeue_after';
    case 'requeue':
      return 'requeue';
    case 'transient':
      return 'error';
    case 'terminal':
      return 'terminal';
  }
}
