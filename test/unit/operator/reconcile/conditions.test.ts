import { describe, expect, it } from 'vitest';
import { hashObject, withAppliedHash, APPLIED_HASH_ANNOTATION } from '../../../../operator/reconcile/applied-hash.js';
import { setCondition } from '../../../../operator/reconcile/conditions.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:05:00.000Z');

describe('setCondition', () => {
  it('adds a condition with the transition time', () => {
    expect(setCondition([], { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, 3, T0)).toEqual([
      { type: 'Ready', status: 'False', reason: 'R', message: 'm', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });
  it('keeps lastTransitionTime when the status stays, even if reason/message change', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, 1, T0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Other', message: 'n' }, 2, T1);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(b[0]?.reason).toBe('Other');
  });
  it('moves lastTransitionTime when the status changes, and keeps other conditions in order', () => {
    const a = setCondition(setCondition([], { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, 1, T0), { type: 'Degraded', status: 'False', reason: 'OK', message: '' }, 1, T0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'R', message: 'm' }, 1, T1);
    expect(b.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(b[1]).toEqual(a[1]);
  });
});

describe('applied hash', () => {
  it('does not depend on key order, and changes with any value', () => {
    expect(hashObject({ a: 1, b: { c: [1, 2] } })).toBe(hashObject({ b: { c: [1, 2] }, a: 1 }));
    expect(hashObject({ a: 1, b: { c: [1, 2] } })).not.toBe(hashObject({ a: 1, b: { c: [2, 1] } }));
  });
  it('annotates a copy with the hash of the object as given', () => {
    const obj = { metadata: { name: 'x', annotations: { k: 'v' } }, data: { a: '1' } };
    const { object, hash } = withAppliedHash(obj);
    expect(hash).toBe(hashObject(obj));
    expect(object.metadata.annotations).toEqual({ k: 'v', [APPLIED_HASH_ANNOTATION]: hash });
    expect(obj.metadata.annotations).toEqual({ k: 'v' });
  });
});
