/**
 * The Redis TLS options of gate and logic (runtime/config/common-options.ts): contradictions are
 * refused when options are resolved, unusable files when redisConnectOptions reads them at
 * start-up, each naming the setting. Certificates are made by the test (openssl).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConnectOptions } from '../../../runtime/config/common-options.js';
import { ConfigError } from '../../../runtime/config/options.js';
import { resolveLogicOptions } from '../../../runtime/logic/config.js';
import { MAX_TLS_FILE_BYTES } from '../../../runtime/redis/redis-tls.js';
import { LOOPBACK_SANS, makeTestCa, type TestCa, type TestCert } from '../../support/test-certs.js';

let ca: TestCa;
let cert: TestCert;
let other: TestCert;
let notPem: string;
let huge: string;

beforeAll(async () => {
  ca = await makeTestCa('options');
  [cert, other] = await Promise.all([ca.issue('client', LOOPBACK_SANS), ca.issue('other', LOOPBACK_SANS)]);
  notPem = join(ca.dir, 'not-pem.txt');
  await writeFile(notPem, 'just some text\n');
  huge = join(ca.dir, 'huge.crt');
  await writeFile(huge, randomBytes(MAX_TLS_FILE_BYTES + 1));
}, 120_000); // three openssl runs: generous for a busy machine (the unit project's default is 10 s)
afterAll(async () => {
  await ca?.remove();
});

const connectWith = (env: Record<string, string>) => redisConnectOptions(resolveLogicOptions([], env).options);

describe('Redis TLS options are refused, naming the setting', () => {
  it.each<[string, () => Record<string, string>, RegExp]>([
    ['a CA file without IMGROUP_REDIS_TLS', () => ({ IMGROUP_REDIS_TLS_CA_FILE: ca.caFile }), /IMGROUP_REDIS_TLS_CA_FILE set but IMGROUP_REDIS_TLS .* is false/],
    ['a client certificate without IMGROUP_REDIS_TLS', () => ({ IMGROUP_REDIS_TLS_CERT_FILE: cert.certFile, IMGROUP_REDIS_TLS_KEY_FILE: cert.keyFile }), /IMGROUP_REDIS_TLS_CERT_FILE and IMGROUP_REDIS_TLS_KEY_FILE set but/],
    ['a certificate without its key', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CERT_FILE: cert.certFile }), /IMGROUP_REDIS_TLS_CERT_FILE and IMGROUP_REDIS_TLS_KEY_FILE go together/],
    ['a key without its certificate', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_KEY_FILE: cert.keyFile }), /go together/],
    ['IMGROUP_REDIS_TLS that is not a boolean', () => ({ IMGROUP_REDIS_TLS: 'maybe' }), /IMGROUP_REDIS_TLS .*not a boolean/],
    ['a CA file that does not exist', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: join(ca.dir, 'absent.crt') }), /IMGROUP_REDIS_TLS_CA_FILE .*absent\.crt cannot be read/],
    ['a CA file without a certificate', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: notPem }), /IMGROUP_REDIS_TLS_CA_FILE .*not-pem\.txt holds no PEM certificate/],
    ['a CA file larger than the bound', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: huge }), /IMGROUP_REDIS_TLS_CA_FILE .*huge\.crt is \d+ bytes, more than/],
    ['a key file that holds a certificate', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CERT_FILE: cert.certFile, IMGROUP_REDIS_TLS_KEY_FILE: cert.certFile }), /IMGROUP_REDIS_TLS_KEY_FILE .* holds no usable private key/],
    ['a key of another certificate', () => ({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CERT_FILE: cert.certFile, IMGROUP_REDIS_TLS_KEY_FILE: other.keyFile }), /IMGROUP_REDIS_TLS_KEY_FILE .*other\.key does not belong to the certificate/],
  ])('%s', (_what, env, message) => {
    let err: unknown;
    try {
      connectWith(env());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('Redis TLS options are accepted', () => {
  it('plain TCP by default: no TLS material', () => {
    expect(connectWith({}).tls).toBeUndefined();
  });

  it('TLS with Node\'s public CAs when no CA file is given', () => {
    expect(connectWith({ IMGROUP_REDIS_TLS: 'true' }).tls).toEqual({});
  });

  it('TLS with the CA file, read at start-up', () => {
    expect(connectWith({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: ca.caFile }).tls).toEqual({ ca: ca.ca });
  });

  it('a client certificate with its own key', () => {
    const tls = connectWith({ IMGROUP_REDIS_TLS: 'true', IMGROUP_REDIS_TLS_CA_FILE: ca.caFile, IMGROUP_REDIS_TLS_CERT_FILE: cert.certFile, IMGROUP_REDIS_TLS_KEY_FILE: cert.keyFile }).tls;
    expect(tls).toEqual({ ca: ca.ca, cert: cert.cert, key: cert.key });
  });
});
