/**
 * Certificates made by the test, with the openssl CLI, in a temporary directory: a CA and a Redis
 * node certificate it signs (for loopback: IP SAN 127.0.0.1 and DNS localhost unless other names
 * are asked for), laid out as a kubernetes.io/tls Secret from cert-manager is (`tls.crt`,
 * `tls.key`, `ca.crt`). Valid for two days: long enough for any test run, short enough to be
 * useless if leaked. EC P-256 keys: fast to make.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RedisServerTlsFiles } from '../../runtime/redis/redis-server-tls.js';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  /** PEM file and text of the CA certificate. */
  caFile: string;
  ca: string;
  /** A certificate signed by this CA, with the given subject alternative names. */
  issue(name: string, sans: readonly string[]): Promise<TestCert>;
  /** Remove the directory. */
  remove(): Promise<void>;
}

export interface TestCert extends RedisServerTlsFiles {
  /** PEM texts. */
  cert: string;
  key: string;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  await run('openssl', [...args], { cwd: dir });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new CA in a new temporary directory (`label` names the directory and the CA). */
export async function makeTestCa(label: string): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), `imgroup-tls-${label}-`));
  await openssl(dir, ['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=imgroup test CA ${label}`]);
  const caFile = join(dir, 'ca.crt');
  const ca = await readFile(caFile, 'utf8');
  return {
    dir,
    caFile,
    ca,
    async issue(name, sans) {
      const ext = join(dir, `${name}.ext`);
      await writeFile(
        ext,
        [
          `subjectAltName=${sans.join(',')}`,
          // The node presents it as a server and, to its peers and its master, as a client.
          'extendedKeyUsage=serverAuth,clientAuth',
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          '',
        ].join('\n'),
      );
      await openssl(dir, ['req', '-new', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext]);
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      return { certFile, keyFile, caFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** SANs of a certificate for loopback test nodes. */
export const LOOPBACK_SANS = ['IP:127.0.0.1', 'DNS:localhost'] as const;
