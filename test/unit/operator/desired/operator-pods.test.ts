import { describe, expect, it } from 'vitest';
import { operatorPods } from '../../../../operator/desired/operator-pods.js';

describe('operatorPods (IMGROUP_OPERATOR_POD_NAMESPACE, IMGROUP_OPERATOR_POD_LABELS)', () => {
  it('is undefined when neither is set (an operator outside the cluster)', () => {
    expect(operatorPods(undefined, undefined)).toBeUndefined();
    expect(operatorPods(undefined, [])).toBeUndefined();
  });

  it('reads the chart\'s selector labels', () => {
    expect(operatorPods('imgroup-system', ['app.kubernetes.io/name=imgroup', 'app.kubernetes.io/instance=rel', 'app.kubernetes.io/component=operator', 'empty='])).toEqual({
      namespace: 'imgroup-system',
      labels: { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': 'rel', 'app.kubernetes.io/component': 'operator', empty: '' },
    });
  });

  it.each([
    ['labels without a namespace', undefined, ['a=b'], /IMGROUP_OPERATOR_POD_NAMESPACE/],
    ['a namespace without labels', 'ns', [], /IMGROUP_OPERATOR_POD_LABELS must list/],
    ['a namespace that is not a DNS label', 'Bad_NS', ['a=b'], /IMGROUP_OPERATOR_POD_NAMESPACE/],
    ['an item without =', 'ns', ['ab'], /"ab" is not key=value/],
    ['an empty key', 'ns', ['=b'], /is not key=value/],
    ['a bad key prefix', 'ns', ['Bad_Prefix/x=b'], /prefix must be a DNS subdomain/],
    ['a bad key name', 'ns', ['-x=b'], /label key "-x"/],
    ['a value too long', 'ns', [`a=${'v'.repeat(64)}`], /label value/],
    ['a key given twice', 'ns', ['a=b', 'a=c'], /given twice/],
    ['too many labels', 'ns', Array.from({ length: 17 }, (_, i) => `k${i}=v`), /at most 16/],
  ])('refuses %s, naming the setting', (_, ns, labels, message) => {
    expect(() => operatorPods(ns, labels)).toThrow(message);
  });
});
