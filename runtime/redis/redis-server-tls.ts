/**
 * TLS of a redis-server node, server side: the arguments that make a Redis Cluster node serve
 * only TLS on its client port (`port 0`, `tls-port`), and speak TLS on the cluster bus
 * (`tls-cluster`) and to its master (`tls-replication`). Used by the operator's Redis pods
 * (operator/desired/redis-config.ts) and by local nodes (runtime/dev/redis-server-process.ts).
 *
 * The node presents `certFile` both as a server and, to its peers on the bus and to its master,
 * as a client: the certificate must allow both uses (no extendedKeyUsage, or serverAuth and
 * clientAuth). `tls-auth-clients optional`: a peer or client that presents a certificate must
 * present one signed by `caFile`; gate, logic and operator present none and authenticate with the
 * password (requirepass) instead, so they never hold the nodes' private key.
 */

export interface RedisServerTlsFiles {
  /** PEM certificate of the node (tls.crt of a kubernetes.io/tls Secret). */
  certFile: string;
  /** Its PEM private key (tls.key). */
  keyFile: string;
  /** PEM CA certificates that sign the nodes' certificates (ca.crt). */
  caFile: string;
}

/** The arguments for client port `port` (instead of `--port <port>`). */
export function redisServerTlsArgs(port: number | string, files: RedisServerTlsFiles): string[] {
  return [
    '--port', '0',
    '--tls-port', String(port),
    '--tls-cert-file', files.certFile,
    '--tls-key-file', files.keyFile,
    '--tls-ca-cert-file', files.caFile,
    '--tls-auth-clients', 'optional',
    '--tls-cluster', 'yes',
    '--tls-replication', 'yes',
  ];
}
