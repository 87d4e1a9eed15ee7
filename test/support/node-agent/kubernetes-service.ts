/**
 * What the kubelet gives every container about the API server: the environment variables of the
 * `kubernetes` Service in `default` (KUBERNETES_SERVICE_HOST/PORT and the docker-link style
 * KUBERNETES_PORT_* family), which @kubernetes/client-node's in-cluster configuration reads.
 *
 * A kubelet points them at the Service's cluster IP (10.0.0.1:443) and kube-proxy forwards that
 * to the API server's endpoints. No kube-proxy runs here, and the test control plane cannot even
 * publish those endpoints (the API server binds 127.0.0.1, and Endpoints/EndpointSlices refuse
 * loopback addresses), so the agent stands in for both: the variables name the API server's own
 * address, the one the agent itself talks to — what the cluster IP would have led to.
 */

/** The kubelet's `kubernetes` Service variables for an API server at `server` (https://host:port). */
export function kubernetesServiceEnv(server: string): Record<string, string> {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const tcp = `tcp://${url.host}${url.port ? '' : `:${port}`}`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: tcp,
    [`KUBERNETES_PORT_${port}_TCP`]: tcp,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: port,
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
  };
}
