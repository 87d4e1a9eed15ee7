/**
 * Options of `imgroup dev` (`make run`): counts, base ports and where temporary data goes. Base
 * ports, heartbeat and log level default to what a gate or logic node would use on its own.
 */
import { COMMON_OPTIONS } from '../config/common-options.js';
import { describedAs, intOption, type OptionValues, secretOption, specOf, stringOption } from '../config/options.js';
import { GATE_ONLY_OPTIONS } from '../gate/config.js';
import { LOGIC_OWN_OPTIONS } from '../logic/config.js';

export const DEV_OPTIONS = [
  stringOption({ key: 'host', env: 'IMGROUP_DEV_HOST', flag: 'host', default: '127.0.0.1', doc: 'Loopback address every local process binds to.' }),
  intOption({ key: 'redisMasters', env: 'IMGROUP_DEV_REDIS_MASTERS', flag: 'redis-masters', default: 3, min: 3, max: 32, doc: 'Redis Cluster masters started by `imgroup dev`.' }),
  intOption({ key: 'redisReplicas', env: 'IMGROUP_DEV_REDIS_REPLICAS', flag: 'redis-replicas', default: 1, min: 0, max: 4, doc: 'Replicas per Redis master.' }),
  intOption({ key: 'redisBasePort', env: 'IMGROUP_DEV_REDIS_PORT', flag: 'redis-port', default: 7000, min: 1024, max: 55000, doc: 'First Redis port (cluster bus ports are these + 10000).' }),
  intOption({ key: 'logicCount', env: 'IMGROUP_DEV_LOGIC', flag: 'logic', default: 2, min: 1, max: 64, doc: 'Logic nodes started by `imgroup dev`.' }),
  intOption({ key: 'logicBasePort', env: 'IMGROUP_DEV_LOGIC_PORT', flag: 'logic-port', default: specOf(LOGIC_OWN_OPTIONS, 'port').default, min: 1024, max: 65000, doc: 'First logic internal port.' }),
  intOption({ key: 'logicOpsBasePort', env: 'IMGROUP_DEV_LOGIC_OPS_PORT', flag: 'logic-ops-port', default: specOf(LOGIC_OWN_OPTIONS, 'opsPort').default, min: 1024, max: 65000, doc: 'First logic ops port.' }),
  intOption({ key: 'gateCount', env: 'IMGROUP_DEV_GATES', flag: 'gates', default: 2, min: 1, max: 64, doc: 'Gates started by `imgroup dev`.' }),
  intOption({ key: 'gateBasePort', env: 'IMGROUP_DEV_GATE_PORT', flag: 'gate-port', default: specOf(GATE_ONLY_OPTIONS, 'port').default, min: 1024, max: 65000, doc: 'First gate client port.' }),
  intOption({ key: 'gateOpsBasePort', env: 'IMGROUP_DEV_GATE_OPS_PORT', flag: 'gate-ops-port', default: specOf(GATE_ONLY_OPTIONS, 'opsPort').default, min: 1024, max: 65000, doc: 'First gate ops port.' }),
  stringOption({ key: 'redisTlsDir', env: 'IMGROUP_DEV_REDIS_TLS_DIR', flag: 'redis-tls-dir', doc: 'Directory with tls.crt, tls.key and ca.crt (a certificate for --host, as an IP SAN, usable for server and client auth): the local Redis Cluster then serves TLS only (client port, bus, replication), and gates and logic nodes connect with TLS trusting ca.crt. Default: plain TCP.' }),
  stringOption({ key: 'dataDir', env: 'IMGROUP_DEV_DATA_DIR', flag: 'data-dir', doc: 'Directory for Redis data, logs and the membership file. Default: a new temporary directory, removed on exit.' }),
  stringOption({ key: 'cpuProfDir', env: 'IMGROUP_CPU_PROF_DIR', flag: 'cpu-prof-dir', doc: 'Start every gate and logic node with `node --cpu-prof` writing its V8 CPU profile into this directory when it exits (open it in Chrome DevTools). Default: no profiling.' }),
  stringOption({ key: 'redisServer', env: 'IMGROUP_REDIS_SERVER', flag: 'redis-server', default: 'redis-server', doc: 'redis-server binary used by `imgroup dev` and the tests.' }),
  secretOption({ key: 'jwtSecret', env: 'IMGROUP_JWT_SECRET', flag: 'jwt-secret', doc: 'Client token secret for the local cluster. Default: generated and printed.' }),
  secretOption({ key: 'adminToken', env: 'IMGROUP_ADMIN_TOKEN', flag: 'admin-token', doc: 'Admin API token for the local cluster. Default: generated and printed.' }),
  describedAs(specOf(COMMON_OPTIONS, 'heartbeatMs'), 'Heartbeat interval passed to every gate and logic node.'),
  describedAs(specOf(COMMON_OPTIONS, 'logLevel'), 'Log level of the child processes (their logs go to files in the data directory).'),
] as const;

/** The options of `imgroup dev`, typed from DEV_OPTIONS. */
export type DevOptions = OptionValues<typeof DEV_OPTIONS>;
