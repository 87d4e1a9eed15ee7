/** What a test can see of a pod the agent runs (NodeAgent.pods() / pod()). */
import type { PodWorker } from './pod-worker.js';

export interface ContainerInfo {
  name: string;
  pid: number | undefined;
  running: boolean;
  ready: boolean;
  restartCount: number;
  logFile: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  ip: string | null;
  terminating: boolean;
  containers: ContainerInfo[];
  /** Host directory of each volume, by volume name (claims, emptyDirs, configMap/secret files). */
  volumes: Record<string, string>;
}

export function podInfo(w: PodWorker): PodInfo {
  return {
    namespace: w.namespace,
    name: w.name,
    uid: w.uid,
    ip: w.podIP,
    terminating: w.terminating,
    containers: w.containers.map((c) => ({ name: c.name, pid: c.pid, running: c.running, ready: c.ready, restartCount: c.restartCount, logFile: c.logFile })),
    volumes: w.volumePaths,
  };
}
