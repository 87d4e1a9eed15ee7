/**
 * The test node agent: Pod objects on a real API server become local processes on loopback
 * addresses of their own. See node-agent.ts for the whole picture.
 */
export { type AddressAllocator, type AddressRequest, LoopbackAllocator, sharedLoopbackAllocator } from './address-allocator.js';
export { type ContainerRuntime, imageName, type ImgroupRuntimeOptions, imgroupRuntime, type Launch, type LaunchContext, type RedisRuntimeOptions, redisRuntime, type RuntimeTable } from './container-runtimes.js';
export { type ContainerInfo, NodeAgent, type NodeAgentOptions, type PodInfo, type RestartAllOptions } from './node-agent.js';
export type { BindSelector } from './pod-binder.js';
export { podDnsNatMap, type PodResolver, resolvePodHost } from './pod-dns.js';
export { kubernetesServiceEnv } from './kubernetes-service.js';
export { CLUSTER_CONTROLLERS, STATEFULSET_CONTROLLERS, startStatefulSetControlPlane, type WorkloadControlPlaneOptions } from './workload-control-plane.js';
