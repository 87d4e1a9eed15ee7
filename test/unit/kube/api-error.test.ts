/** What a failed Kubernetes API call says: its HTTP status whatever its shape, and a short description. */
import { describe, expect, it } from 'vitest';
import { describeApiError, httpStatusOf } from '../../../runtime/kube/api-error.js';

describe('API error helpers', () => {
  it('reads the status of ApiException (code) and of watch errors (statusCode), and keeps descriptions short', () => {
    expect(httpStatusOf({ code: 403, body: '{"message":"forbidden: no"}' })).toBe(403);
    expect(httpStatusOf(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe(410);
    expect(httpStatusOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(describeApiError({ code: 403, body: '{"message":"forbidden: no"}' })).toBe('HTTP 403: forbidden: no');
    expect(describeApiError(new Error('x'.repeat(1000)))).toHaveLength(300);
    expect(describeApiError(Object.create(null))).toBe('an error that cannot be described');
  });
});
