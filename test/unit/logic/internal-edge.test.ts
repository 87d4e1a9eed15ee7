import { describe, expect, it } from 'vitest';
import { ridOf } from '../../../runtime/logic/frame-handler.js';
import { secretDigest } from '../../../runtime/auth/secret-compare.js';
import { checkUpgrade } from '../../../runtime/logic/internal-server.js';
import { failureOf, RequestTimeoutError } from '../../../runtime/logic/request-failure.js';
import { ProtocolError } from '../../../runtime/protocol/errors.js';

const tokenDigest = secretDigest('secret');
const headers = (h: Record<string, string>) => ({ authorization: 'Bearer secret', 'x-imgroup-gate': 'gate-0', 'x-imgroup-gate-boot': 'b00t', ...h });

describe('checkUpgrade', () => {
  it('accepts the internal path with the token and both gate headers', () => {
    expect(checkUpgrade({ url: '/v1/internal', headers: headers({}) }, tokenDigest, true)).toEqual({ ok: true, gate: 'gate-0', boot: 'b00t' });
  });

  it.each([
    ['another path', '/v1/ws', {}, true, 404],
    ['shutdown', '/v1/internal', {}, false, 503],
    ['a wrong token', '/v1/internal', { authorization: 'Bearer secreT' }, true, 401],
    ['a longer token', '/v1/internal', { authorization: 'Bearer secret-and-more' }, true, 401],
    ['no scheme', '/v1/internal', { authorization: 'secret' }, true, 401],
    ['an empty gate name', '/v1/internal', { 'x-imgroup-gate': '' }, true, 401],
    ['a gate name with a bar', '/v1/internal', { 'x-imgroup-gate': 'g|x' }, true, 401],
    ['a boot id with spaces', '/v1/internal', { 'x-imgroup-gate-boot': 'a b' }, true, 401],
  ])('refuses %s', (_name, url, h, accepting, status) => {
    const v = checkUpgrade({ url, headers: headers(h as Record<string, string>) }, tokenDigest, accepting);
    expect(v).toMatchObject({ ok: false, status });
  });
});

describe('ridOf', () => {
  it.each([
    ['{"t":"req","rid":4,"op":"x"}', 4],
    ['{"t":"req","rid":-1}', null],
    ['{"t":"req","rid":"4"}', null],
    ['{"t":"ack","rid":4}', null],
    ['nope', null],
    ['null', null],
  ])('%s → %s', (text, rid) => {
    expect(ridOf(text)).toBe(rid);
  });
});

describe('failureOf', () => {
  it('maps protocol errors to their code, Redis failures and timeouts to UNAVAILABLE, bugs to INTERNAL', () => {
    expect(failureOf(new ProtocolError('NOT_MEMBER', 'no')).code).toBe('NOT_MEMBER');
    expect(failureOf(new RequestTimeoutError(100)).code).toBe('UNAVAILABLE');
    expect(failureOf(new Error('Command timed out')).code).toBe('UNAVAILABLE');
    expect(failureOf(new Error('Connection is closed.')).code).toBe('UNAVAILABLE');
    expect(failureOf(Object.assign(new Error('CLUSTERDOWN The cluster is down'), { name: 'ReplyError' })).code).toBe('UNAVAILABLE');
    expect(failureOf(new TypeError("Cannot read properties of undefined (reading 'connect')")).code).toBe('INTERNAL');
    expect(failureOf(new Error('log_append returned an unexpected reply')).code).toBe('INTERNAL');
  });
});
