/**
 * metav1.Condition bookkeeping: setting a condition keeps its lastTransitionTime unless its status
 * changes, so a reconcile that finds the same state writes the same conditions (and so no status).
 */
import type { Condition } from '../api/v1alpha1.js';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
}

/** `conditions` with `input` set (others kept, in order); `now` is used only on a status change. */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, generation: number | undefined, now: Date): Condition[] {
  const previous = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    lastTransitionTime: previous && previous.status === input.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (!previous) return [...conditions, next];
  return conditions.map((c) => (c.type === input.type ? next : c));
}

export function setConditions(conditions: readonly Condition[], inputs: readonly ConditionInput[], generation: number | undefined, now: Date): Condition[] {
  return inputs.reduce<Condition[]>((acc, input) => setCondition(acc, input, generation, now), [...conditions]);
}
