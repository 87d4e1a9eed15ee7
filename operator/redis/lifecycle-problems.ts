/**
 * What a lifecycle step found, graded: `failed` needs a human (data at risk or a refusal),
 * `degraded` is a fault the cluster or the operator is expected to get over (a pod down, a
 * failover under way), `progress` is work the operator is doing (joining, moving, draining).
 * The worst grade decides the state; the first problem of that grade names the reason.
 */

export type ProblemLevel = 'failed' | 'degraded' | 'progress';

export interface Problem {
  level: ProblemLevel;
  /** CamelCase, for the status condition's reason. */
  reason: string;
  /** One line naming the pod, node or slot. */
  message: string;
}

const RANK: Record<ProblemLevel, number> = { failed: 3, degraded: 2, progress: 1 };

/** The worst problem (the first one of the worst grade), or undefined when there is none. */
export function worstProblem(problems: readonly Problem[]): Problem | undefined {
  let worst: Problem | undefined;
  for (const p of problems) if (!worst || RANK[p.level] > RANK[worst.level]) worst = p;
  return worst;
}
