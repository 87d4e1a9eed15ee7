/** Options of `imgroup dev` (`make run`): counts, base ports and where temporary data goes. */
import type { OptionSpec } from '../config/options.js';

export const DEV_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', env: 'IMGROUP_DEV_HOST', flag: 'host', kind: 'string', default: '127.0.0.1', doc: 'Loopback address every local process binds to.' },
  { key: 'redisMasters', env: 'IMGROUP_DEV_REDIS_MASTERS', flag: 'redis-masters', kind: 'int', default: 3, min: 3, max: 32, doc: 'Redis Cluster masters started by `imgroup dev`.' },
  { key: 'redisReplicas', env: 'IMGROUP_DEV_REDIS_REPLICAS', flag: 'redis-replicas', kind: 'int', default: 1, min: 0, max: 4, doc: 'Replicas per Redis master.' },
  { key: 'redisBasePort', env: 'IMGROUP_DEV_REDIS_PORT', flag: 'redis-port', kind: 'int', default: 7000, min: 1024, max: 55000, doc: 'First Redis port (cluster bus ports are these + 10000).' },
  { key: 'logicCount', env: 'IMGROUP_DEV_LOGIC', flag: 'logic', kind: 'int', default: 2, min: 1, max: 64, doc: 'Logic nodes started by `imgroup dev`.' },
  { key: 'logicBasePort', env: 'IMGROUP_DEV_LOGIC_PORT', flag: 'logic-port', kind: 'int', default: 8180, min: 1024, max: 65000, doc: 'First logic internal port.' },
  { key: 'logicOpsBasePort', env: 'IMGROUP_DEV_LOGIC_OPS_PORT', flag: 'logic-ops-port', kind: 'int', default: 9190, min: 1024, max: 65000, doc: 'First logic ops port.' },
  { key: 'gateCount', env: 'IMGROUP_DEV_GATES', flag: 'gates', kind: 'int', default: 2, min: 1, max: 64, doc: 'Gates started by `imgroup dev`.' },
  { key: 'gateBasePort', env: 'IMGROUP_DEV_GATE_PORT', flag: 'gate-port', kind: 'int', default: 8080, min: 1024, max: 65000, doc: 'First gate client port.' },
  { key: 'gateOpsBasePort', env: 'IMGROUP_DEV_GATE_OPS_PORT', flag: 'gate-ops-port', kind: 'int', default: 9090, min: 1024, max: 65000, doc: 'First gate ops port.' },
  { key: 'dataDir', env: 'IMGROUP_DEV_DATA_DIR', flag: 'data-dir', kind: 'string', doc: 'Directory for Redis data, logs and the membership file. Default: a new temporary directory, removed on exit.' },
  { key: 'redisServer', env: 'IMGROUP_REDIS_SERVER', flag: 'redis-server', kind: 'string', default: 'redis-server', doc: 'redis-server binary used by `imgroup dev` and the tests.' },
  { key: 'jwtSecret', env: 'IMGROUP_JWT_SECRET', flag: 'jwt-secret', kind: 'secret', doc: 'Client token secret for the local cluster. Default: generated and printed.' },
  { key: 'adminToken', env: 'IMGROUP_ADMIN_TOKEN', flag: 'admin-token', kind: 'secret', doc: 'Admin API token for the local cluster. Default: generated and printed.' },
  { key: 'heartbeatMs', env: 'IMGROUP_HEARTBEAT_MS', flag: 'heartbeat-ms', kind: 'int', default: 15_000, min: 200, max: 600_000, doc: 'Heartbeat interval passed to every gate and logic node.' },
  { key: 'logLevel', env: 'IMGROUP_LOG_LEVEL', flag: 'log-level', kind: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level of the child processes (their logs go to files in the data directory).' },
];
