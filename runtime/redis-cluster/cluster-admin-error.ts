/**
 * Errors of the cluster admin, each with a stable code and whether retrying can help. A caller
 * such as the operator's reconciler maps `terminal` errors to "record in status, do not requeue"
 * and the others to "requeue with backoff".
 */

export type ClusterAdminErrorCode =
  /** A node already serves slots: bootstrapping over it could lose data. */
  | 'SLOTS_ASSIGNED'
  /** A node to be bootstrapped holds keys. */
  | 'NOT_EMPTY'
  /** A node knows live nodes that are not part of the requested cluster. */
  | 'FOREIGN_NODES'
  /** A node runs without `cluster-enabled yes`. */
  | 'NOT_CLUSTER'
  /** A node's reply could not be understood. */
  | 'BAD_REPLY'
  /** A node could not be reached or did not answer in time. */
  | 'UNREACHABLE'
  /** A node answered a command with an error reply. */
  | 'REJECTED'
  /** A bounded wait ran out. */
  | 'TIMEOUT'
  /** The request itself is impossible (bad slot, same source and target …). */
  | 'INVALID';

const TERMINAL: ReadonlySet<ClusterAdminErrorCode> = new Set(['SLOTS_ASSIGNED', 'NOT_EMPTY', 'FOREIGN_NODES', 'NOT_CLUSTER', 'INVALID']);

export class ClusterAdminError extends Error {
  readonly terminal: boolean;

  constructor(
    readonly code: ClusterAdminErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClusterAdminError';
    this.terminal = TERMINAL.has(code);
  }
}
