/**
 * TLS towards Redis, client side: the material a process connects with (the CA that signs the
 * Redis nodes' certificates, and optionally a client certificate for Redis configured with
 * `tls-auth-clients yes`), read and checked once at start-up, and the Node `tls.connect` options
 * every ioredis connection of ours gets from it (cluster clients, the sharded subscriber, the
 * cluster admin).
 *
 * The server's name is checked as Node does by default: against the host connected to (a DNS name
 * such as `N-redis-0.N-redis.NS.svc`, or an IP address, which then must be an IP SAN of the
 * certificate), unless the caller names the server explicitly (`servername`, e.g. the operator,
 * which connects to pod IPs but knows each pod's DNS name).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';

/** PEM files larger than this are refused: a CA bundle or a certificate chain is a few KiB. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

/** TLS material for connections to Redis, PEM. */
export interface RedisTls {
  /** CA certificates that sign the Redis nodes' certificates; absent: Node's built-in public CAs. */
  ca?: string;
  /** Client certificate (chain) and its key, both or neither: only for `tls-auth-clients yes|optional`. */
  cert?: string;
  key?: string;
}

export interface RedisTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** What error messages call each file (a process names its settings: `IMGROUP_REDIS_TLS_CA_FILE`). */
export interface RedisTlsFileLabels {
  ca: string;
  cert: string;
  key: string;
}

const DEFAULT_LABELS: RedisTlsFileLabels = { ca: 'Redis CA file', cert: 'Redis client certificate file', key: 'Redis client key file' };

/** A TLS file that cannot be used; the message names the file and what is wrong with it. */
export class RedisTlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisTlsError';
  }
}

function readPem(what: string, path: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new RedisTlsError(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
  if (size > MAX_TLS_FILE_BYTES) throw new RedisTlsError(`${what} ${path} is ${size} bytes, more than ${MAX_TLS_FILE_BYTES}: not a PEM certificate or key`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RedisTlsError(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** Every certificate of a PEM bundle, parsed; throws naming the file when there is none or one is broken. */
function certificates(what: string, path: string, pem: string): X509Certificate[] {
  const where = path ? `${what} ${path}` : what;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new RedisTlsError(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new RedisTlsError(`${where}: certificate ${i + 1} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

/**
 * A CA bundle that did not come from a file (e.g. a Kubernetes Secret): at most
 * MAX_TLS_FILE_BYTES, at least one PEM certificate, each one parseable. Throws RedisTlsError.
 */
export function checkCaPem(what: string, pem: string): void {
  if (Buffer.byteLength(pem) > MAX_TLS_FILE_BYTES) throw new RedisTlsError(`${what} is larger than ${MAX_TLS_FILE_BYTES} bytes: not a PEM CA bundle`);
  certificates(what, '', pem);
}

/**
 * Read and check the files: each readable, at most MAX_TLS_FILE_BYTES, the CA file and the
 * certificate file hold PEM certificates, the key file a private key that belongs to the
 * certificate; certificate and key come together. Throws RedisTlsError naming the file.
 */
export function readRedisTls(files: RedisTlsFiles, labels: RedisTlsFileLabels = DEFAULT_LABELS): RedisTls {
  const tls: RedisTls = {};
  if (files.caFile !== undefined) {
    tls.ca = readPem(labels.ca, files.caFile);
    certificates(labels.ca, files.caFile, tls.ca);
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new RedisTlsError(`${labels.cert} and ${labels.key} go together: a client certificate needs both`);
  }
  if (files.certFile !== undefined && files.keyFile !== undefined) {
    const cert = readPem(labels.cert, files.certFile);
    const key = readPem(labels.key, files.keyFile);
    const [leaf] = certificates(labels.cert, files.certFile, cert);
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      throw new RedisTlsError(`${labels.key} ${files.keyFile} holds no usable private key: ${(err as Error).message}`);
    }
    if (!leaf?.checkPrivateKey(privateKey)) throw new RedisTlsError(`${labels.key} ${files.keyFile} does not belong to the certificate in ${labels.cert} ${files.certFile}`);
    tls.cert = cert;
    tls.key = key;
  }
  return tls;
}

/**
 * Node `tls.connect` options for one connection: the server certificate must be valid and signed
 * by the CA (rejectUnauthorized), its name is checked against `servername` when given, else
 * against the host connected to. An IP address is never sent as SNI.
 */
export function tlsConnectOptions(tls: RedisTls, servername?: string): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: true };
  if (tls.ca !== undefined) o.ca = tls.ca;
  if (tls.cert !== undefined && tls.key !== undefined) {
    o.cert = tls.cert;
    o.key = tls.key;
  }
  if (servername !== undefined) o.servername = servername;
  return o;
}

/**
 * Why a TLS handshake with `host:port` fails (the certificate is not signed by the CA, names
 * another host, the port does not speak TLS, …), or null when it succeeds; bounded by `timeoutMs`.
 * A diagnosis: ioredis' cluster client reports such a failure only as a closed connection.
 */
export function tlsHandshakeError(host: string, port: number, tls: RedisTls, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...tlsConnectOptions(tls) });
    const done = (why: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no TLS handshake within ${timeoutMs} ms`), timeoutMs);
    socket.once('secureConnect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}
