/**
 * The control plane's credentials, made with the openssl CLI (EC P-256, valid 10 years): a CA,
 * the API server's serving certificate, an admin client certificate (O=system:masters), the
 * ServiceAccount token signing key pair; and the admin kubeconfig that embeds them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

async function openssl(args, cwd) {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** Generate every key and certificate into `${dir}/pki` (EC P-256, valid 10 years); returns their paths. */
export async function generatePki(dir) {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const days = ['-days', '3650'];
  await openssl(['req', '-x509', ...ec, ...days, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=imgroup-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], pki);
  const sans = ['IP:127.0.0.1', 'IP:10.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local'];
  const leaf = (name, subj, exts) =>
    openssl(['req', '-x509', ...ec, ...days, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-subj', subj, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      ...exts.flatMap((e) => ['-addext', e])], pki);
  await leaf('apiserver', '/CN=kube-apiserver', ['extendedKeyUsage=serverAuth', `subjectAltName=${sans.join(',')}`]);
  await leaf('admin', '/O=system:masters/CN=imgroup-admin', ['extendedKeyUsage=clientAuth']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'sa.key'], pki);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pki);
  const path = (f) => join(pki, f);
  return {
    caCert: path('ca.crt'), caKey: path('ca.key'),
    servingCert: path('apiserver.crt'), servingKey: path('apiserver.key'),
    adminCert: path('admin.crt'), adminKey: path('admin.key'),
    saKey: path('sa.key'), saPub: path('sa.pub'),
  };
}

/** An admin kubeconfig with every credential embedded (context and cluster named `imgroup-local`). */
export function kubeconfigYaml({ server, caPem, certPem, keyPem }) {
  const b64 = (s) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: imgroup-local',
    'clusters:', '- name: imgroup-local', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${b64(caPem)}`,
    'users:', '- name: imgroup-admin', '  user:', `    client-certificate-data: ${b64(certPem)}`, `    client-key-data: ${b64(keyPem)}`,
    'contexts:', '- name: imgroup-local', '  context:', '    cluster: imgroup-local', '    user: imgroup-admin', '',
  ].join('\n');
}
